//go:build !linux

package enforce

import (
	"errors"

	"github.com/vishvananda/netlink"
)

func openNetlink() (Netlink, func(), error) { return nil, nil, errors.New("tc shaping needs Linux") }

// htbClass keeps the rates only: without Linux there is no kernel to send it to.
func htbClass(attrs netlink.ClassAttrs, c netlink.HtbClassAttrs) *netlink.HtbClass {
	return &netlink.HtbClass{ClassAttrs: attrs, Rate: c.Rate / 8, Ceil: c.Ceil / 8, Quantum: c.Quantum}
}
