package config

import "github.com/allot-dev/allot/enforce"

// validateIODevices checks client.io_devices with the parser enforcement
// uses: each a block device number "MAJOR:MINOR" (as lsblk and
// /proc/partitions show), none twice.
func (c *Config) validateIODevices(src string) error {
	seen := map[enforce.Device]bool{}
	for _, d := range c.IODevices {
		dev, err := enforce.ParseDevice(d)
		if err != nil {
			return errf("%s: %q is not a block device number: want MAJOR:MINOR, e.g. \"8:0\" (see lsblk)", src, d)
		}
		if seen[dev] {
			return errf("%s: %q is listed twice", src, d)
		}
		seen[dev] = true
	}
	return nil
}
