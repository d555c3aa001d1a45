# A stand-in bcryptprimitives.dll for Debian's wine 8.0, which lacks it:
# every Go >= 1.22 Windows program loads it at start for ProcessPrng.
# ProcessPrng(pbData, cbData) fills the buffer from advapi32's
# SystemFunction036 (RtlGenRandom) and returns TRUE, as Windows' does.
# Built by wine_test.go with binutils-mingw-w64-x86-64 (no C compiler).

	.text
	.globl	ProcessPrng
ProcessPrng:
	# rcx = pbData, rdx = cbData pass straight through (Win64 ABI);
	# 32 bytes of shadow space + 8 keep the stack 16-byte aligned.
	subq	$40, %rsp
	call	*__imp_SystemFunction036(%rip)
	addq	$40, %rsp
	movl	$1, %eax
	ret

	.globl	DllMain
DllMain:
	movl	$1, %eax
	ret
