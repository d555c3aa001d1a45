package network

import (
	"errors"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSAddr is where a container on a user-defined network finds the
// embedded DNS server, as in Docker: 127.0.0.11 in its own namespace.
const DNSAddr = "127.0.0.11"

// Resolver answers a container name (or alias) with its addresses; ok is
// false for names the network does not know, which are forwarded.
type Resolver func(name string) (ips []net.IP, ok bool)

// DNSServer is the embedded DNS server of one container: it answers the
// names of the containers on its networks and forwards every other query
// to the host's resolvers.
type DNSServer struct {
	pc       net.PacketConn
	resolve  Resolver
	upstream []string
	done     chan struct{}
}

// ServeDNS serves queries arriving on pc until Close.
func ServeDNS(pc net.PacketConn, resolve Resolver, upstream []string) *DNSServer {
	s := &DNSServer{pc: pc, resolve: resolve, upstream: upstream, done: make(chan struct{})}
	go s.loop()
	return s
}

// Close stops the server.
func (s *DNSServer) Close() {
	s.pc.Close()
	<-s.done
}

func (s *DNSServer) loop() {
	defer close(s.done)
	buf := make([]byte, 4096)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if reply := s.answer(q); reply != nil {
				_, _ = s.pc.WriteTo(reply, from)
			}
		}()
	}
}

// answer builds the reply to one query; nil drops it (malformed).
func (s *DNSServer) answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	ips, ok := s.resolve(name)
	if !ok || q.Class != dnsmessage.ClassINET {
		return s.forward(query, h, q)
	}
	resp := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	resp.EnableCompression()
	_ = resp.StartQuestions()
	_ = resp.Question(q)
	_ = resp.StartAnswers()
	if q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL {
		for _, ip := range ips {
			var a dnsmessage.AResource
			copy(a.A[:], ip.To4())
			_ = resp.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 600}, a)
		}
	}
	out, err := resp.Finish()
	if err != nil {
		return nil
	}
	return out
}

// forward relays the query to the host's resolvers, in turn; with none
// answering, the reply is SERVFAIL.
func (s *DNSServer) forward(query []byte, h dnsmessage.Header, q dnsmessage.Question) []byte {
	for _, up := range s.upstream {
		addr := up
		if _, _, err := net.SplitHostPort(up); err != nil {
			addr = net.JoinHostPort(up, "53")
		}
		c, err := net.DialTimeout("udp", addr, 2*time.Second)
		if err != nil {
			continue
		}
		_ = c.SetDeadline(time.Now().Add(4 * time.Second))
		buf := make([]byte, 65535)
		_, err = c.Write(query)
		var n int
		if err == nil {
			n, err = c.Read(buf)
		}
		c.Close()
		if err == nil {
			return buf[:n]
		}
	}
	resp := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: dnsmessage.RCodeServerFailure, RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	_ = resp.StartQuestions()
	_ = resp.Question(q)
	out, _ := resp.Finish()
	return out
}

// Nameservers reads the nameserver lines of a resolv.conf.
func Nameservers(resolvConf []byte) []string {
	var out []string
	for _, line := range strings.Split(string(resolvConf), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}
