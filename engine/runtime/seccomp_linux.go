package runtime

//go:generate go run mksyscalls.go

import (
	"encoding/binary"
	"fmt"
	goruntime "runtime"
	"sort"
	"sync"
	"unsafe"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Docker's default seccomp profile comes from github.com/moby/profiles as a
// list of syscall names and rules. Turning it into a filter is usually
// libseccomp's job (cgo); Berth compiles it to classic BPF itself, which for
// an allow-list is short work: check the architecture, load the syscall
// number, compare it with each allowed number, and for the few syscalls
// with argument rules (clone, personality, socket) compare the 64-bit
// arguments as two 32-bit halves.
//
// Not covered: the i386 and x32 syscall tables. A 32-bit or x32 binary in
// the container gets the default action (EPERM) for every syscall, where
// Docker would apply the profile to those tables too.

// BPF opcodes (linux/bpf_common.h).
const (
	bpfLdAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJgt    = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	bpfJge    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfJa     = unix.BPF_JMP | unix.BPF_JA
	bpfRet    = unix.BPF_RET | unix.BPF_K
	bpfAndK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	bpfMaxLen = 4096

	// Offsets in struct seccomp_data.
	offNr   = 0
	offArch = 4
	offArgs = 16

	x32SyscallBit = 0x40000000
)

// Seccomp return values (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// DefaultSeccompProfile returns Docker's default profile for a container
// with the capability set caps: some rules depend on capabilities
// (CAP_SYS_ADMIN allows clone with namespace flags, for example).
func DefaultSeccompProfile(caps CapSet) (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps.Names()}}}
	p, err := seccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("load Docker's default seccomp profile: %w", err)
	}
	return p, nil
}

// CompileSeccomp turns a profile into a BPF program for this machine's
// native architecture.
func CompileSeccomp(p *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	if len(syscallNumbers()) == 0 {
		return nil, fmt.Errorf("seccomp: berth has no syscall table for %s: run with --security-opt seccomp=unconfined", goruntime.GOARCH)
	}
	defErrno := uint32(unix.EPERM)
	if p.DefaultErrnoRet != nil {
		defErrno = uint32(*p.DefaultErrnoRet)
	}
	defaultRet, err := seccompAction(p.DefaultAction, defErrno, defErrno)
	if err != nil {
		return nil, err
	}
	rules, err := seccompRules(p, defErrno)
	if err != nil {
		return nil, err
	}
	prog, err := assembleFilter(rules, defaultRet)
	if err != nil {
		return nil, err
	}
	if len(prog) > bpfMaxLen {
		return nil, fmt.Errorf("seccomp: filter has %d instructions, over the kernel's limit of %d", len(prog), bpfMaxLen)
	}
	return prog, nil
}

// seccompRule is one of a syscall's rules: its argument checks (all must
// match; none means always) and what the filter returns then.
type seccompRule struct {
	args []specs.LinuxSeccompArg
	ret  uint32
}

// seccompRules groups the profile's rules by this architecture's syscall
// numbers, in the profile's order.
func seccompRules(p *specs.LinuxSeccomp, defErrno uint32) (map[uint32][]seccompRule, error) {
	rules := map[uint32][]seccompRule{}
	for _, sc := range p.Syscalls {
		ret, err := seccompAction(sc.Action, derefErrno(sc.ErrnoRet, defErrno), defErrno)
		if err != nil {
			return nil, fmt.Errorf("seccomp rule for %v: %w", sc.Names, err)
		}
		for _, name := range sc.Names {
			nr, ok := syscallNumbers()[name]
			if !ok {
				continue // another architecture's syscall
			}
			rules[nr] = append(rules[nr], seccompRule{args: sc.Args, ret: ret})
		}
	}
	return rules, nil
}

// assembleFilter lays out the program: the architecture check, then a
// binary search on the syscall number over the ranges of numbers that
// share an outcome (Docker's profile allows about 350 syscalls, most of
// them in runs of consecutive numbers), then the blocks of the syscalls
// with argument rules, which their leaf reaches with an unconditional ja
// (a 32-bit offset with no 255 limit). A linear list of comparisons, one
// per syscall, is four times longer: the kernel checks, converts and JITs
// every instruction when the container's init installs the filter (on
// every start), and a syscall near the end of the list runs 350
// comparisons where the search runs nine.
func assembleFilter(rules map[uint32][]seccompRule, defaultRet uint32) ([]unix.SockFilter, error) {
	ranges, blocks, err := outcomeRanges(rules, defaultRet)
	if err != nil {
		return nil, err
	}
	prog := filterPrologue(defaultRet)
	tree, patches := searchTree(ranges)
	base := len(prog)
	prog = append(prog, tree...)
	starts := make([]int, len(blocks))
	for i, b := range blocks {
		starts[i] = len(prog)
		prog = append(prog, b...)
	}
	for _, p := range patches {
		at := base + p.at
		prog[at].K = uint32(starts[p.block] - at - 1)
	}
	return prog, nil
}

// filterPrologue refuses other architectures' syscalls and x32 ones, and
// loads the syscall number.
func filterPrologue(defaultRet uint32) []unix.SockFilter {
	return []unix.SockFilter{
		stmt(bpfLdAbs, offArch),
		jump(bpfJeq, nativeAuditArch, 1, 0),
		stmt(bpfRet, defaultRet),
		stmt(bpfLdAbs, offNr),
		jump(bpfJge, x32SyscallBit, 0, 1),
		stmt(bpfRet, defaultRet),
	}
}

// nrRange is a run of syscall numbers, from start up to the next range's
// start, with one outcome: ret, or block (an index in the argument blocks)
// when block >= 0.
type nrRange struct {
	start uint32
	ret   uint32
	block int
}

// blockJump is a ja at index at that must land on argument block block.
type blockJump struct{ at, block int }

// outcomeRanges partitions the syscall numbers into runs with the same
// outcome, from 0 up (the numbers from x32SyscallBit on never get here),
// and compiles the argument blocks.
func outcomeRanges(rules map[uint32][]seccompRule, defaultRet uint32) ([]nrRange, [][]unix.SockFilter, error) {
	nrs := make([]uint32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	ranges := []nrRange{{start: 0, ret: defaultRet, block: -1}}
	var blocks [][]unix.SockFilter
	add := func(r nrRange) {
		if ranges[len(ranges)-1].start == r.start {
			ranges = ranges[:len(ranges)-1] // superseded: a run of length 0
		}
		if n := len(ranges); n > 0 && r.block < 0 && ranges[n-1].block < 0 && ranges[n-1].ret == r.ret {
			return // same outcome: the run goes on
		}
		ranges = append(ranges, r)
	}
	for _, nr := range nrs {
		rs := rules[nr]
		if len(rs[0].args) == 0 {
			add(nrRange{start: nr, ret: rs[0].ret, block: -1})
		} else {
			block, err := argBlock(rs, defaultRet)
			if err != nil {
				return nil, nil, fmt.Errorf("seccomp rule for syscall %d: %w", nr, err)
			}
			blocks = append(blocks, block)
			add(nrRange{start: nr, block: len(blocks) - 1})
		}
		if nr+1 != 0 {
			add(nrRange{start: nr + 1, ret: defaultRet, block: -1})
		}
	}
	return ranges, blocks, nil
}

// searchTree is the binary search over ranges (sorted, the first starting
// at 0): at each node, numbers from the middle range's start on go right. A
// leaf returns its outcome or jumps to its argument block; patches says
// where those jumps are, relative to the tree's start.
func searchTree(ranges []nrRange) (code []unix.SockFilter, patches []blockJump) {
	if len(ranges) == 1 {
		r := ranges[0]
		if r.block >= 0 {
			return []unix.SockFilter{stmt(bpfJa, 0)}, []blockJump{{at: 0, block: r.block}}
		}
		return []unix.SockFilter{stmt(bpfRet, r.ret)}, nil
	}
	mid := len(ranges) / 2
	left, lp := searchTree(ranges[:mid])
	right, rp := searchTree(ranges[mid:])
	if len(left) <= 255 {
		code = append(code, jump(bpfJge, ranges[mid].start, uint8(len(left)), 0))
	} else {
		// Too far for a conditional jump: true falls on a ja over the left.
		code = append(code, jump(bpfJge, ranges[mid].start, 0, 1), stmt(bpfJa, uint32(len(left))))
	}
	for _, p := range lp {
		patches = append(patches, blockJump{at: p.at + len(code), block: p.block})
	}
	for _, p := range rp {
		patches = append(patches, blockJump{at: p.at + len(code) + len(left), block: p.block})
	}
	code = append(append(code, left...), right...)
	return code, patches
}

// argBlock is the block of a syscall with argument rules: each rule in
// turn, then the default return.
func argBlock(rs []seccompRule, defaultRet uint32) ([]unix.SockFilter, error) {
	var block []unix.SockFilter
	for _, r := range rs {
		code, err := compileRule(r.args, r.ret)
		if err != nil {
			return nil, err
		}
		block = append(block, code...)
		if len(r.args) == 0 {
			break // unconditional: later rules are unreachable
		}
	}
	return append(block, stmt(bpfRet, defaultRet)), nil
}

// ruleInsn is an instruction of a rule whose true or false branch, when
// failTrue or failFalse, goes to the rule's failure target (resolved once
// the rule's length is known).
type ruleInsn struct {
	f                   unix.SockFilter
	failTrue, failFalse bool
}

// compileRule emits the checks of one rule (all args must match) followed
// by its return; a failed check jumps past the return, to the next rule.
func compileRule(args []specs.LinuxSeccompArg, ret uint32) ([]unix.SockFilter, error) {
	var code []ruleInsn
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("argument index %d out of range", a.Index)
		}
		checks, err := argChecks(a)
		if err != nil {
			return nil, err
		}
		code = append(code, checks...)
	}
	code = append(code, ruleInsn{f: stmt(bpfRet, ret)})
	out := make([]unix.SockFilter, len(code))
	for i, c := range code {
		f := c.f
		// The failure target is the instruction after the return.
		dist := len(code) - i - 1
		if dist > 255 {
			return nil, fmt.Errorf("rule too long (%d instructions)", len(code))
		}
		if c.failTrue {
			f.Jt = uint8(dist)
		}
		if c.failFalse {
			f.Jf = uint8(dist)
		}
		out[i] = f
	}
	return out, nil
}

// argChecks compares one 64-bit argument as two 32-bit halves, high word
// first: classic BPF loads 32 bits at a time.
func argChecks(a specs.LinuxSeccompArg) ([]ruleInsn, error) {
	lo := uint32(offArgs + 8*a.Index)
	hi := lo + 4 // little-endian: the high word follows
	if !littleEndian {
		lo, hi = hi, lo
	}
	vlo, vhi := uint32(a.Value), uint32(a.Value>>32)
	ld := func(off uint32) ruleInsn { return ruleInsn{f: stmt(bpfLdAbs, off)} }
	j := func(op uint16, k uint32, jt, jf uint8, failTrue, failFalse bool) ruleInsn {
		return ruleInsn{f: jump(op, k, jt, jf), failTrue: failTrue, failFalse: failFalse}
	}
	switch a.Op {
	case specs.OpEqualTo:
		return []ruleInsn{ld(hi), j(bpfJeq, vhi, 0, 0, false, true), ld(lo), j(bpfJeq, vlo, 0, 0, false, true)}, nil
	case specs.OpNotEqual:
		return []ruleInsn{
			ld(hi), j(bpfJeq, vhi, 0, 2, false, false), // high words differ: passes
			ld(lo), j(bpfJeq, vlo, 0, 0, true, false),
		}, nil
	case specs.OpMaskedEqual:
		mlo, mhi := vlo, vhi
		wlo, whi := uint32(a.ValueTwo), uint32(a.ValueTwo>>32)
		return []ruleInsn{
			ld(hi), {f: stmt(bpfAndK, mhi)}, j(bpfJeq, whi, 0, 0, false, true),
			ld(lo), {f: stmt(bpfAndK, mlo)}, j(bpfJeq, wlo, 0, 0, false, true),
		}, nil
	case specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpLessThan, specs.OpLessEqual:
		// The high words decide unless equal; then the low words do.
		greater := a.Op == specs.OpGreaterThan || a.Op == specs.OpGreaterEqual
		decide := j(bpfJgt, vhi, 3, 0, false, false) // high word greater: passes
		if !greater {
			decide = j(bpfJge, vhi, 0, 3, false, false) // high word smaller: passes
		}
		low := uint16(bpfJgt) // > passes on jgt, <= fails on it
		if a.Op == specs.OpGreaterEqual || a.Op == specs.OpLessThan {
			low = bpfJge // >= passes on jge, < fails on it
		}
		return []ruleInsn{
			ld(hi), decide,
			j(bpfJeq, vhi, 0, 0, false, true), // high word on the wrong side: fails
			ld(lo), j(low, vlo, 0, 0, !greater, greater),
		}, nil
	}
	return nil, fmt.Errorf("unsupported seccomp operator %q", a.Op)
}

func seccompAction(act specs.LinuxSeccompAction, errno, defErrno uint32) (uint32, error) {
	switch act {
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActErrno:
		return retErrno | (errno & 0xffff), nil
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap, nil
	case specs.ActTrace:
		return retTrace | (errno & 0xffff), nil
	case specs.ActLog:
		return retLog, nil
	}
	return 0, fmt.Errorf("unsupported seccomp action %q", act)
}

func derefErrno(p *uint, def uint32) uint32 {
	if p == nil {
		return def
	}
	return uint32(*p)
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// filterCache holds compiled filters by capability set: a build runs many
// containers with the same one.
var filterCache sync.Map // CapSet → []unix.SockFilter

// syscallEntry is one line of the generated syscall table.
type syscallEntry struct {
	name string
	nr   uint32
}

// syscallNumbers maps syscall names to this architecture's numbers. It is
// built on first use: the default capabilities' filter is precompiled, so
// only other capability sets and custom profiles compile one, and as a
// package-level map its ~370 entries (15.6 KB) were built at the start of
// every berth process. The entries themselves are static data.
var syscallNumbers = sync.OnceValue(func() map[string]uint32 {
	m := make(map[string]uint32, len(syscallEntries))
	for _, e := range syscallEntries {
		m[e.name] = e.nr
	}
	return m
})

// seccompFilter is the filter a container with sec gets: Docker's default
// profile for its capabilities, or none when privileged or unconfined.
func seccompFilter(sec Security) ([]unix.SockFilter, error) {
	if sec.Privileged || sec.SeccompUnconfined {
		return nil, nil
	}
	caps, err := Capabilities(sec)
	if err != nil {
		return nil, err
	}
	if f, ok := filterCache.Load(caps); ok {
		return f.([]unix.SockFilter), nil
	}
	if f := precompiledFilter(caps); f != nil {
		return f, nil
	}
	prof, err := DefaultSeccompProfile(caps)
	if err != nil {
		return nil, err
	}
	f, err := CompileSeccomp(prof)
	if err != nil {
		return nil, err
	}
	filterCache.Store(caps, f)
	return f, nil
}

// encodeFilter packs a program as struct sock_filter does: 8 bytes an
// instruction, little-endian. It crosses the re-exec boundary that way.
func encodeFilter(prog []unix.SockFilter) []byte {
	out := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		out = binary.LittleEndian.AppendUint16(out, in.Code)
		out = append(out, in.Jt, in.Jf)
		out = binary.LittleEndian.AppendUint32(out, in.K)
	}
	return out
}

func decodeFilter(data []byte) ([]unix.SockFilter, error) {
	if len(data)%8 != 0 {
		return nil, fmt.Errorf("seccomp filter of %d bytes is not whole instructions", len(data))
	}
	prog := make([]unix.SockFilter, len(data)/8)
	for i := range prog {
		b := data[8*i:]
		prog[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:])}
	}
	return prog, nil
}

// loadSeccomp installs the filter on the calling thread, which the process
// then replaces with execve; children it forks inherit it. Without
// no_new_privs the caller needs CAP_SYS_ADMIN.
func loadSeccomp(prog []unix.SockFilter) error {
	if len(prog) == 0 {
		return nil
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	goruntime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("load seccomp filter: %w", errno)
	}
	return nil
}
