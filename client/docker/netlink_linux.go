package docker

import "github.com/vishvananda/netlink"

// openNetlink opens a route netlink socket in this process's network
// namespace, and how to close it.
func openNetlink() (Netlink, func(), error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, nil, err
	}
	return h, h.Close, nil
}
