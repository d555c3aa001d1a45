package runtime

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runBPF interprets the subset of classic BPF that CompileSeccomp emits
// over a struct seccomp_data.
func runBPF(t *testing.T, prog []unix.SockFilter, arch, nr uint32, args [6]uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[0:], nr)
	binary.LittleEndian.PutUint32(data[4:], arch)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[16+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdAbs:
			acc = binary.LittleEndian.Uint32(data[in.K:])
		case bpfAndK:
			acc &= in.K
		case bpfJa:
			pc += int(in.K)
		case bpfJeq, bpfJgt, bpfJge:
			var ok bool
			switch in.Code {
			case bpfJeq:
				ok = acc == in.K
			case bpfJgt:
				ok = acc > in.K
			case bpfJge:
				ok = acc >= in.K
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpfRet:
			return in.K
		default:
			t.Fatalf("unexpected opcode %#x at %d", in.Code, pc)
		}
	}
	t.Fatal("program fell off its end")
	return 0
}

func TestCompileDefaultProfile(t *testing.T) {
	defaults, err := Capabilities(Security{})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := DefaultSeccompProfile(defaults)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := CompileSeccomp(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 100 || len(prog) > bpfMaxLen {
		t.Fatalf("program has %d instructions", len(prog))
	}
	eperm := uint32(retErrno | uint32(unix.EPERM))
	enosys := uint32(retErrno | uint32(unix.ENOSYS))
	arch := uint32(nativeAuditArch)
	for _, tc := range []struct {
		name string
		arch uint32
		nr   string
		args [6]uint64
		want uint32
	}{
		{"read", arch, "read", [6]uint64{}, retAllow},
		{"execve", arch, "execve", [6]uint64{}, retAllow},
		{"kexec_load is not allowed", arch, "kexec_load", [6]uint64{}, eperm},
		{"mount needs CAP_SYS_ADMIN", arch, "mount", [6]uint64{}, eperm},
		{"clone of a thread", arch, "clone", [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD}, retAllow},
		{"clone of a namespace", arch, "clone", [6]uint64{unix.CLONE_NEWNS}, eperm},
		{"clone with high bits set", arch, "clone", [6]uint64{1 << 40}, retAllow},
		{"clone3 says ENOSYS", arch, "clone3", [6]uint64{}, enosys},
		{"personality(PER_LINUX)", arch, "personality", [6]uint64{0}, retAllow},
		{"personality(query)", arch, "personality", [6]uint64{0xffffffff}, retAllow},
		{"personality(other)", arch, "personality", [6]uint64{0x0040000}, eperm},
		{"socket(AF_INET)", arch, "socket", [6]uint64{unix.AF_INET}, retAllow},
		{"socket(AF_UNIX)", arch, "socket", [6]uint64{unix.AF_UNIX}, retAllow},
		{"socket(AF_VSOCK)", arch, "socket", [6]uint64{unix.AF_VSOCK}, eperm},
		{"socket(AF_INET) with high bits", arch, "socket", [6]uint64{1<<32 | unix.AF_INET}, eperm},
		{"foreign architecture", unix.AUDIT_ARCH_I386, "read", [6]uint64{}, eperm},
	} {
		nr, ok := syscallNumbers()[tc.nr]
		if !ok {
			t.Fatalf("no syscall %s", tc.nr)
		}
		if got := runBPF(t, prog, tc.arch, nr, tc.args); got != tc.want {
			t.Errorf("%s: got %#x, want %#x", tc.name, got, tc.want)
		}
	}
	if got := runBPF(t, prog, arch, x32SyscallBit|syscallNumbers()["read"], [6]uint64{}); got != eperm {
		t.Errorf("x32 read: got %#x, want EPERM", got)
	}

	// With CAP_SYS_ADMIN the profile lets namespaces be made.
	admin, _ := Capabilities(Security{CapAdd: []string{"SYS_ADMIN"}})
	prof, _ = DefaultSeccompProfile(admin)
	prog, err = CompileSeccomp(prof)
	if err != nil {
		t.Fatal(err)
	}
	if got := runBPF(t, prog, arch, syscallNumbers()["clone"], [6]uint64{unix.CLONE_NEWNS}); got != retAllow {
		t.Errorf("clone(CLONE_NEWNS) with CAP_SYS_ADMIN: %#x", got)
	}
	if got := runBPF(t, prog, arch, syscallNumbers()["mount"], [6]uint64{}); got != retAllow {
		t.Errorf("mount with CAP_SYS_ADMIN: %#x", got)
	}
}

func TestCompileComparisons(t *testing.T) {
	nr := syscallNumbers()["read"]
	for _, tc := range []struct {
		op         specs.LinuxSeccompOperator
		value, two uint64
		pass, fail []uint64
	}{
		{specs.OpEqualTo, 5, 0, []uint64{5}, []uint64{4, 5 | 1<<32}},
		{specs.OpNotEqual, 5, 0, []uint64{4, 5 | 1<<32}, []uint64{5}},
		{specs.OpGreaterThan, 1<<32 | 10, 0, []uint64{1<<32 | 11, 2 << 32}, []uint64{1<<32 | 10, 11, 0}},
		{specs.OpGreaterEqual, 1<<32 | 10, 0, []uint64{1<<32 | 10, 2 << 32}, []uint64{1<<32 | 9, 11}},
		{specs.OpLessThan, 1<<32 | 10, 0, []uint64{1<<32 | 9, 11}, []uint64{1<<32 | 10, 2 << 32}},
		{specs.OpLessEqual, 1<<32 | 10, 0, []uint64{1<<32 | 10, 11}, []uint64{1<<32 | 11, 2 << 32}},
		{specs.OpMaskedEqual, 0xf0, 0x20, []uint64{0x21, 0x2f}, []uint64{0x30, 0x10}},
	} {
		prof := &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Syscalls: []specs.LinuxSyscall{{
				Names: []string{"read"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 2, Value: tc.value, ValueTwo: tc.two, Op: tc.op}},
			}},
		}
		prog, err := CompileSeccomp(prof)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tc.pass {
			if got := runBPF(t, prog, nativeAuditArch, nr, [6]uint64{2: v}); got != retAllow {
				t.Errorf("%s %#x: %#x, want allow", tc.op, v, got)
			}
		}
		for _, v := range tc.fail {
			if got := runBPF(t, prog, nativeAuditArch, nr, [6]uint64{2: v}); got == retAllow {
				t.Errorf("%s %#x: allowed, want denied", tc.op, v)
			}
		}
	}
}

// TestSearchTreeMatchesLinearList: the binary search gives every syscall
// number (and, for the syscalls with argument rules, every argument value
// the profile tests) the outcome of the plain list of comparisons it
// replaced, for the default profile with and without CAP_SYS_ADMIN, and is
// a good deal shorter.
func TestSearchTreeMatchesLinearList(t *testing.T) {
	for _, add := range [][]string{nil, {"SYS_ADMIN"}, {"ALL"}} {
		caps, err := Capabilities(Security{CapAdd: add})
		if err != nil {
			t.Fatal(err)
		}
		prof, err := DefaultSeccompProfile(caps)
		if err != nil {
			t.Fatal(err)
		}
		defErrno := uint32(unix.EPERM)
		defaultRet, _ := seccompAction(prof.DefaultAction, defErrno, defErrno)
		rules, err := seccompRules(prof, defErrno)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := assembleFilter(rules, defaultRet)
		if err != nil {
			t.Fatal(err)
		}
		linear, err := assembleLinear(rules, defaultRet)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("caps %v: %d instructions, %d in the list", add, len(tree), len(linear))
		if 2*len(tree) > len(linear) {
			t.Errorf("caps %v: the search has %d instructions, the list %d", add, len(tree), len(linear))
		}
		argSets := [][6]uint64{{}}
		for _, rs := range rules {
			for _, r := range rs {
				for _, a := range r.args {
					for _, v := range []uint64{a.Value, a.Value + 1, a.Value - 1, a.Value | 1<<32, a.ValueTwo, ^uint64(0)} {
						var args [6]uint64
						args[a.Index] = v
						argSets = append(argSets, args)
					}
				}
			}
		}
		for _, arch := range []uint32{nativeAuditArch, unix.AUDIT_ARCH_I386} {
			for nr := uint32(0); nr < 1100; nr++ {
				sets := argSets[:1]
				if rs := rules[nr]; len(rs) > 0 && len(rs[0].args) > 0 {
					sets = argSets
				}
				for _, args := range sets {
					if got, want := runBPF(t, tree, arch, nr, args), runBPF(t, linear, arch, nr, args); got != want {
						t.Fatalf("caps %v: syscall %d %v: search says %#x, list %#x", add, nr, args, got, want)
					}
				}
			}
			for _, nr := range []uint32{x32SyscallBit, x32SyscallBit | 1, 0xffffffff} {
				if got, want := runBPF(t, tree, arch, nr, [6]uint64{}), runBPF(t, linear, arch, nr, [6]uint64{}); got != want {
					t.Errorf("caps %v: syscall %#x: search says %#x, list %#x", add, nr, got, want)
				}
			}
		}
	}
}

// assembleLinear is the filter layout the search tree replaced, one
// comparison per syscall: the reference the tree must agree with.
func assembleLinear(rules map[uint32][]seccompRule, defaultRet uint32) ([]unix.SockFilter, error) {
	nrs := make([]uint32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	prog := filterPrologue(defaultRet)
	type pending struct {
		at    int // index of the ja to patch
		block []unix.SockFilter
	}
	var blocks []pending
	for _, nr := range nrs {
		rs := rules[nr]
		if len(rs[0].args) == 0 {
			prog = append(prog, jump(bpfJeq, nr, 0, 1), stmt(bpfRet, rs[0].ret))
			continue
		}
		block, err := argBlock(rs, defaultRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp rule for syscall %d: %w", nr, err)
		}
		prog = append(prog, jump(bpfJeq, nr, 0, 1), stmt(bpfJa, 0))
		blocks = append(blocks, pending{at: len(prog) - 1, block: block})
	}
	prog = append(prog, stmt(bpfRet, defaultRet))
	for _, b := range blocks {
		prog[b.at].K = uint32(len(prog) - b.at - 1)
		prog = append(prog, b.block...)
	}
	return prog, nil
}

var updateFilter = flag.Bool("update-filter", false, "rewrite the precompiled default seccomp program")

// TestPrecompiledFilterIsCurrent: the program built into berth for the
// default capabilities is the one Docker's profile compiles to now (after
// an update of github.com/moby/profiles or of the compiler, run this test
// with -update-filter), and containers with the default capabilities get
// it.
func TestPrecompiledFilterIsCurrent(t *testing.T) {
	if nativeAuditArch != unix.AUDIT_ARCH_X86_64 {
		t.Skip("no precompiled program for this architecture")
	}
	prof, err := DefaultSeccompProfile(defaultCapSet())
	if err != nil {
		t.Fatal(err)
	}
	prog, err := CompileSeccomp(prof)
	if err != nil {
		t.Fatal(err)
	}
	want := string(encodeFilter(prog))
	if *updateFilter {
		src := "// Code generated by TestPrecompiledFilterIsCurrent -update-filter; DO NOT EDIT.\n\npackage runtime\n\n" +
			"// precompiledDefault is Docker's default seccomp profile for the default\n// capabilities compiled for x86-64 (encodeFilter), see seccomp_default_linux.go.\n" +
			"const precompiledDefault = " + fmt.Sprintf("%q", want) + "\n"
		if err := os.WriteFile("seccomp_default_linux_amd64.go", []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if precompiledDefault != want {
		t.Fatal("the precompiled default seccomp program is stale: go test ./engine/runtime -run TestPrecompiledFilterIsCurrent -update-filter")
	}
	got, err := seccompFilter(Security{})
	if err != nil || !reflect.DeepEqual(got, prog) {
		t.Errorf("seccompFilter for the default capabilities: %d instructions (%v), want the %d compiled", len(got), err, len(prog))
	}
	if !kernelAtLeast(4, 8) || kernelAtLeast(99, 0) || !kernelAtLeast(2, 6) {
		t.Error("kernelAtLeast disagrees with uname")
	}
}
