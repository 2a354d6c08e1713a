// Package kerneltest holds Allot's real-kernel acceptance tests (test files
// only): a real `allot loadgen` process in a service's cgroup or network
// namespace, limits applied through package enforce's public drivers,
// usage measured through package usage, and loadgen's own asked/got lines
// as the ground truth for shortfall. Every test skips with the reason when
// not run as root or when the kernel feature it needs is missing. See
// DESIGN.md.
package kerneltest
