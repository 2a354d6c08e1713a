package config

import (
	"fmt"
	"io"
)

// mergeEnv reads every setting's environment variable (EnvName of its key).
// A deprecated name (OldEnv) is still read, with a warning on stderr, when
// the current one is not set.
func (c *Config) mergeEnv(getenv func(string) string, stderr io.Writer) error {
	if getenv == nil {
		return nil
	}
	for i := range Settings {
		s := &Settings[i]
		if s.Env == "" {
			continue
		}
		name, v := s.Env, getenv(s.Env)
		if s.OldEnv != "" {
			if old := getenv(s.OldEnv); old != "" {
				if v == "" {
					name, v = s.OldEnv, old
					fmt.Fprintf(stderr, "allot agent: warning: %s is deprecated; use %s\n", s.OldEnv, s.Env)
				} else {
					fmt.Fprintf(stderr, "allot agent: warning: %s is deprecated and ignored: %s is set\n", s.OldEnv, s.Env)
				}
			}
		}
		if v == "" {
			continue
		}
		if err := s.setText(c, v, name); err != nil {
			return err
		}
	}
	return nil
}
