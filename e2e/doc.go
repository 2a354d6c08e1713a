// Package e2e holds Allot's failover suite: real agents (plain processes on
// loopback, and containers on Docker networks the tests create) that are
// killed, cut off and restarted under a bounded client load whose history
// is checked for linearizability with porcupine. The tests are behind the
// e2e build tag: `make e2e`, and `make chaos SEEDS=N` for random schedules.
// See e2e/README.md.
package e2e
