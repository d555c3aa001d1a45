package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// The initMessage crosses the spec pipe in a small binary encoding rather
// than JSON: the init is a new process on every start, and encoding/json
// builds its reflection caches for Spec's types from scratch in each one
// (a quarter of a millisecond of decoding for a 1 KB spec, and as much
// again to encode it in a fresh berth process), where this costs a few
// microseconds. The layout is fixed by the order of the calls below;
// TestInitMessageCoversSpec fails when a field of Spec is left out.
//
//	uint32 length of what follows (little-endian), then:
//	version byte, then the fields: strings and byte strings as a uvarint
//	length and the bytes, lists as a uvarint count and the items, integers
//	as varints, booleans as one byte.

// initMessageVersion changes with the layout: berth and a berth-init from
// another version refuse each other clearly instead of misreading.
const initMessageVersion = 1

// maxInitMessage bounds a message: a spec is a few kilobytes, a huge
// environment or many volumes a few hundred.
const maxInitMessage = 64 << 20

var errInitVersion = errors.New("berth-init is from another version of berth: install berth and berth-init from the same build")

// writeInitMessage sends msg in one write (a pipe takes 64 KB before its
// reader must keep up).
func writeInitMessage(w io.Writer, msg *initMessage) error {
	e := &msgEncoder{b: make([]byte, 4, 1024+len(msg.Filter))}
	e.b = append(e.b, initMessageVersion)
	e.str(msg.Mode)
	e.bool(msg.AwaitParent)
	e.str(string(msg.Filter))
	e.bool(msg.Spec != nil)
	if msg.Spec != nil {
		e.spec(msg.Spec)
	}
	binary.LittleEndian.PutUint32(e.b, uint32(len(e.b)-4))
	_, err := w.Write(e.b)
	return err
}

// readInitMessage reads what writeInitMessage sent.
func readInitMessage(r io.Reader) (*initMessage, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > maxInitMessage {
		return nil, fmt.Errorf("message of %d bytes is over the limit of %d: %w", n, maxInitMessage, errInitVersion)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	if len(data) == 0 || data[0] != initMessageVersion {
		return nil, errInitVersion
	}
	d := &msgDecoder{b: data[1:]}
	msg := &initMessage{Mode: d.str(), AwaitParent: d.bool()}
	if f := d.str(); f != "" {
		// The message's buffer, not a copy (see str).
		msg.Filter = unsafe.Slice(unsafe.StringData(f), len(f))
	}
	if d.bool() {
		msg.Spec = d.spec()
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes left over", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode the container's spec: %w", d.err)
	}
	return msg, nil
}

type msgEncoder struct{ b []byte }

func (e *msgEncoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *msgEncoder) strs(ss []string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *msgEncoder) int(v int64) { e.b = binary.AppendVarint(e.b, v) }

func (e *msgEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *msgEncoder) mounts(ms []Mount) {
	e.b = binary.AppendUvarint(e.b, uint64(len(ms)))
	for _, m := range ms {
		e.str(m.Source)
		e.str(m.Destination)
		e.str(m.Type)
		e.int(int64(m.Flags))
		e.str(m.Data)
		e.str(m.Dir)
		e.bool(m.ReadOnly)
		e.str(m.Propagation)
	}
}

func (e *msgEncoder) spec(s *Spec) {
	e.str(s.ID)
	e.str(s.Root)
	e.mounts(s.RootfsMounts)
	e.mounts(s.Mounts)
	e.mounts(s.Volumes)
	e.str(s.Hostname)
	e.str(s.Network)
	p := &s.Process
	e.strs(p.Args)
	e.strs(p.Env)
	e.str(p.Cwd)
	e.str(p.User)
	e.strs(p.AdditionalGroups)
	e.bool(p.Tty)
	e.int(int64(p.ConsoleSize[0]))
	e.int(int64(p.ConsoleSize[1]))
	sec := &s.Security
	e.bool(sec.Privileged)
	e.strs(sec.CapAdd)
	e.strs(sec.CapDrop)
	e.bool(sec.NoNewPrivileges)
	e.bool(sec.SeccompUnconfined)
	r := &s.Resources
	e.int(r.Memory)
	e.int(r.PidsLimit)
	e.int(r.NanoCPUs)
	e.int(r.CPUShares)
	e.str(r.CpusetCpus)
	e.str(r.CpusetMems)
	e.bool(s.Init)
	e.bool(s.ReadonlyRootfs)
	e.bool(s.HostPID)
	e.bool(s.HostUTS)
	e.bool(s.HostIPC)
	e.str(s.CgroupParent)
}

// msgDecoder reads a message; the first error sticks and every later read
// returns a zero value.
type msgDecoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("message truncated")

func (d *msgDecoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }

func (d *msgDecoder) int() int64 { return readVarint(d, binary.Varint) }

// readVarint reads one number with read (binary.Uvarint or binary.Varint).
func readVarint[T uint64 | int64](d *msgDecoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list's length, which cannot exceed the bytes left (every
// item takes at least one).
func (d *msgDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errTruncated
		return 0
	}
	return int(n)
}

// str reads a string. It shares the message's buffer, which readInitMessage
// allocates for the message alone and nothing writes once it is read: in
// the container's init, a copy per string (a hundred small ones for a
// spec) is a hundred allocations and the page faults of the fresh heap
// spans they land in, on every start.
func (d *msgDecoder) str() string {
	n := d.count()
	if d.err != nil || n == 0 {
		return ""
	}
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}

func (d *msgDecoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

func (d *msgDecoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.err = errTruncated
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *msgDecoder) mounts() []Mount {
	n := d.count()
	if n == 0 {
		return nil
	}
	ms := make([]Mount, n)
	for i := range ms {
		ms[i] = Mount{
			Source: d.str(), Destination: d.str(), Type: d.str(), Flags: uintptr(d.int()),
			Data: d.str(), Dir: d.str(), ReadOnly: d.bool(), Propagation: d.str(),
		}
	}
	return ms
}

func (d *msgDecoder) spec() *Spec {
	s := &Spec{ID: d.str(), Root: d.str(), RootfsMounts: d.mounts(), Mounts: d.mounts(), Volumes: d.mounts(),
		Hostname: d.str(), Network: d.str()}
	s.Process = Process{Args: d.strs(), Env: d.strs(), Cwd: d.str(), User: d.str(), AdditionalGroups: d.strs(), Tty: d.bool()}
	s.Process.ConsoleSize = [2]uint16{uint16(d.int()), uint16(d.int())}
	s.Security = Security{Privileged: d.bool(), CapAdd: d.strs(), CapDrop: d.strs(), NoNewPrivileges: d.bool(), SeccompUnconfined: d.bool()}
	s.Resources = Resources{Memory: d.int(), PidsLimit: d.int(), NanoCPUs: d.int(), CPUShares: d.int(), CpusetCpus: d.str(), CpusetMems: d.str()}
	s.Init, s.ReadonlyRootfs, s.HostPID, s.HostUTS, s.HostIPC = d.bool(), d.bool(), d.bool(), d.bool(), d.bool()
	s.CgroupParent = d.str()
	return s
}
