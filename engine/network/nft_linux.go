package network

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TableName is berth's nftables table (family ip). It is rebuilt whole,
// in one atomic batch, from the bridges berth made (their alias marks
// them, their address gives the subnet) whenever a network goes or a
// container joins one: the rules never drift from the kernel's bridges,
// whichever store made them.
const TableName = "berth"

// syncRules replaces table ip berth with:
//
//	chain postrouting (nat): ip saddr SUBNET oifname != BRIDGE masquerade   (per non-internal network)
//	chain forward (filter):  iifname A oifname B drop                      (per pair of networks)
//	                         iifname I oifname != I drop, and back          (per internal network)
func syncRules() error {
	bridges, err := berthBridges()
	if err != nil {
		return err
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == TableName {
			c.DelTable(t)
		}
	}
	if len(bridges) > 0 {
		addTable(c, bridges)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: write table %s: %w", TableName, err)
	}
	return nil
}

// berthBridges describes the bridges berth made, as Networks with only
// Bridge, Subnet and Internal set.
func berthBridges() ([]*Network, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []*Network
	for _, l := range links {
		alias := l.Attrs().Alias
		if l.Type() != "bridge" || !strings.HasPrefix(alias, bridgeAlias) {
			continue
		}
		sub := bridgeSubnet(l.Attrs().Name)
		if sub == nil {
			continue
		}
		out = append(out, &Network{Bridge: l.Attrs().Name, Subnet: (&net.IPNet{IP: sub.IP.Mask(sub.Mask), Mask: sub.Mask}).String(),
			Internal: alias == bridgeAliasInternal})
	}
	return out, nil
}

func addTable(c *nftables.Conn, bridges []*Network) {
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
	for _, n := range bridges {
		_, ipn, err := net.ParseCIDR(n.Subnet)
		if err != nil || n.Internal {
			continue
		}
		exprs := []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: ipn.Mask, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ipn.IP.To4()},
		}
		exprs = append(exprs, ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge)...)
		exprs = append(exprs, &expr.Masq{})
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: exprs})
	}
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	for _, a := range bridges {
		if a.Internal {
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: append(append(
				ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, a.Bridge), ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, a.Bridge)...), drop)})
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: append(append(
				ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, a.Bridge), ifname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, a.Bridge)...), drop)})
		}
		for _, b := range bridges {
			if a == b {
				continue
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: append(append(
				ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, a.Bridge), ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, b.Bridge)...), drop)})
		}
	}
}

// ifname compares an interface name, padded as the kernel stores it.
func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// tableExists reports whether table ip berth is there.
func tableExists() bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false
	}
	for _, t := range tables {
		if t.Name == TableName {
			return true
		}
	}
	return false
}

// BridgeRules counts the rules of table ip berth that name bridge: the
// check that a removed network left nothing behind.
func BridgeRules(bridge string) (int, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, err
	}
	name := ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge)[1].(*expr.Cmp).Data
	count := 0
	for _, chain := range []string{"postrouting", "forward"} {
		rules, err := c.GetRules(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName}, &nftables.Chain{Name: chain})
		if err != nil {
			continue // no table, no rules
		}
		for _, r := range rules {
			for _, e := range r.Exprs {
				if cmp, ok := e.(*expr.Cmp); ok && string(cmp.Data) == string(name) {
					count++
					break
				}
			}
		}
	}
	return count, nil
}
