//go:build !linux

package docker

import "errors"

func openNetlink() (Netlink, func(), error) {
	return nil, nil, errors.New("tc shaping and finding veths need Linux")
}
