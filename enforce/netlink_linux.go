package enforce

import (
	"syscall"

	"github.com/vishvananda/netlink"
)

// openNetlink opens a route netlink socket in this process's network
// namespace, and how to close it.
func openNetlink() (Netlink, func(), error) {
	h, err := netlink.NewHandle(syscall.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, err
	}
	return h, h.Close, nil
}

// htbClass builds an HTB class (rates in bits/s; buffers from the kernel's clock).
func htbClass(attrs netlink.ClassAttrs, c netlink.HtbClassAttrs) *netlink.HtbClass {
	return netlink.NewHtbClass(attrs, c)
}
