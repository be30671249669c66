// Package isolate runs a test binary again in conditions the tests need and
// the machine does not offer by default: a network namespace of its own with
// only loopback, and rtnetlink refused as a seccomp filter or systemd's
// RestrictAddressFamilies refuses it (socket(AF_NETLINK, ...) fails with
// EAFNOSUPPORT).
//
// A package's TestMain calls Setup first; a test calls Run, which runs the
// same test binary again with the conditions asked for, and returns once it
// has exited; a benchmark calls Bench, which does the same for itself and
// reports the child's result as its own. Everything it creates ends with the child process: the network
// namespace is anonymous (unshared by the child, never named or mounted), and
// the seccomp filter is the child's own.
package isolate
