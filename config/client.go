package config

import (
	"strconv"
	"strings"
)

// validateIODevices checks client.io_devices: each a block device number
// "MAJOR:MINOR" (as lsblk and /proc/partitions show), none twice.
func (c *Config) validateIODevices() error {
	seen := map[string]bool{}
	for _, d := range c.IODevices {
		maj, min, ok := strings.Cut(d, ":")
		_, err1 := strconv.ParseUint(maj, 10, 32)
		_, err2 := strconv.ParseUint(min, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return errf("%s: %q is not a block device number: want MAJOR:MINOR, e.g. \"8:0\" (see lsblk)", c.Source("client.io_devices"), d)
		}
		if seen[d] {
			return errf("%s: %q is listed twice", c.Source("client.io_devices"), d)
		}
		seen[d] = true
	}
	return nil
}
