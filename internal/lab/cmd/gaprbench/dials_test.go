package main

import (
	"testing"
	"time"
)

func TestCurlConnectTime(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want time.Duration
		ok   bool
	}{
		{"0.061234", 61234 * time.Microsecond, true},
		{"0.000000", 0, false},
		{"", 0, false},
		{"garbage", 0, false},
	} {
		got, err := curlConnectTime(tc.out, nil)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("curlConnectTime(%q) = %v, %v; want %v, ok %v", tc.out, got, err, tc.want, tc.ok)
		}
	}
}

func TestShortVersion(t *testing.T) {
	for in, want := range map[string]string{
		"curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1\nRelease-Date: 2023-02-20\n": "curl 7.88.1",
		"curl\n": "curl",
		"":       "",
	} {
		if got := shortVersion(in); got != want {
			t.Errorf("shortVersion(%q) = %q; want %q", in, got, want)
		}
	}
}
