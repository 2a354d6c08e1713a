package enforce

import (
	"fmt"
	"strconv"
	"strings"
)

// Device is a block device by number, as io.max and blkio.throttle.* name it.
type Device struct{ Major, Minor uint32 }

func (d Device) String() string { return fmt.Sprintf("%d:%d", d.Major, d.Minor) }

// ParseDevice reads "MAJOR:MINOR" (the numbers lsblk and /proc/partitions show).
func ParseDevice(s string) (Device, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ":")
	a, err1 := strconv.ParseUint(maj, 10, 32)
	b, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return Device{}, fmt.Errorf("block device %q: want MAJOR:MINOR, e.g. 8:0 (see lsblk)", s)
	}
	return Device{Major: uint32(a), Minor: uint32(b)}, nil
}
