package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/berthkit/berth/engine/network/portspec"
)

// Proxy forwards one published port to a container, as Docker's
// docker-proxy does: it listens on the host address, so the port answers
// on the host's loopback too, and dials the container's address. It runs
// in the container's supervisor, so it lives and dies with the container.
type Proxy struct {
	Binding portspec.PortBinding // HostPort is the port actually bound

	ln     net.Listener
	pc     net.PacketConn
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[io.Closer]struct{}
	closed bool
}

// Listen binds b's host side; a HostPort of 0 takes a free port.
func Listen(b portspec.PortBinding) (*Proxy, error) {
	addr := net.JoinHostPort(b.HostIP, strconv.Itoa(b.HostPort))
	p := &Proxy{Binding: b, conns: map[io.Closer]struct{}{}}
	var err error
	var port int
	if b.Proto == "udp" {
		if p.pc, err = net.ListenPacket("udp4", addr); err == nil {
			port = p.pc.LocalAddr().(*net.UDPAddr).Port
		}
	} else {
		if p.ln, err = net.Listen("tcp4", addr); err == nil {
			port = p.ln.Addr().(*net.TCPAddr).Port
		}
	}
	if err != nil {
		return nil, fmt.Errorf("driver failed programming external connectivity: Bind for %s:%d failed: port is already allocated (%w)", b.HostIPOrAny(), b.HostPort, err)
	}
	p.Binding.HostPort = port
	return p, nil
}

// Serve forwards to containerIP until Close.
func (p *Proxy) Serve(containerIP string) {
	p.target = net.JoinHostPort(containerIP, strconv.Itoa(p.Binding.ContainerPort))
	p.wg.Add(1)
	if p.ln != nil {
		go p.serveTCP()
	} else {
		go p.serveUDP()
	}
}

// Close stops listening and ends every forwarded connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	if p.pc != nil {
		p.pc.Close()
	}
	p.wg.Wait()
}

func (p *Proxy) track(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c io.Closer) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serveTCP() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go p.forwardTCP(in)
	}
}

func (p *Proxy) forwardTCP(in net.Conn) {
	if !p.track(in) {
		return
	}
	defer p.untrack(in)
	out, err := net.DialTimeout("tcp4", p.target, 10*time.Second)
	if err != nil {
		return
	}
	if !p.track(out) {
		return
	}
	defer p.untrack(out)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// udpIdle is how long a UDP flow lives without traffic, as docker-proxy's.
const udpIdle = 90 * time.Second

func (p *Proxy) serveUDP() {
	defer p.wg.Done()
	flows := map[string]*net.UDPConn{}
	var mu sync.Mutex
	buf := make([]byte, 65535)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		mu.Lock()
		out := flows[from.String()]
		if out == nil {
			raddr, rerr := net.ResolveUDPAddr("udp4", p.target)
			if rerr == nil {
				out, rerr = net.DialUDP("udp4", nil, raddr)
			}
			if rerr != nil || !p.track(out) {
				mu.Unlock()
				continue
			}
			flows[from.String()] = out
			go func(key string, out *net.UDPConn, from net.Addr) {
				p.replyUDP(out, from)
				mu.Lock()
				delete(flows, key)
				mu.Unlock()
				p.untrack(out)
			}(from.String(), out, from)
		}
		mu.Unlock()
		_, _ = out.Write(buf[:n])
	}
}

func (p *Proxy) replyUDP(out *net.UDPConn, to net.Addr) {
	buf := make([]byte, 65535)
	for {
		_ = out.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := out.Read(buf)
		if err != nil {
			return
		}
		if _, err := p.pc.WriteTo(buf[:n], to); err != nil {
			return
		}
	}
}
