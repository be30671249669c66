package lab

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// The control operations of the control socket.
const (
	opRTT       = "rtt"
	opBlackhole = "blackhole"
	opCut       = "cut"
	opIngress   = "ingress"
	opPolicy    = "policy"
	opFamilies  = "families"
	opNAT44     = "nat44"
	opNPTv6     = "nptv6"
	opAddAddr   = "addaddr"
	opDelAddr   = "deladdr"
	opMiddlebox = "middlebox"
	opNAT64     = "nat64"
	opDNS64     = "dns64"
	opPREF64    = "pref64"
	opRestore   = "restore"
	opInfo      = "info"
	opShutdown  = "shutdown"
)

// request is one control request: one JSON object per connection.
type request struct {
	Op     string        `json:"op"`
	Uplink int           `json:"uplink,omitempty"`
	On     bool          `json:"on,omitempty"`
	RTT    time.Duration `json:"rtt,omitempty"`
	V4     bool          `json:"v4,omitempty"`
	V6     bool          `json:"v6,omitempty"`
	Prefix netip.Prefix  `json:"prefix,omitzero"`
	Mode   MiddleboxMode `json:"mode,omitempty"`
	// Lifetime is the PREF64 lifetime of opPREF64.
	Lifetime time.Duration `json:"lifetime,omitempty"`
}

// response is the answer: an error text, or the lab's facts for opInfo.
type response struct {
	Error string `json:"error,omitempty"`
	Facts *facts `json:"facts,omitempty"`
}

// ctlTimeout bounds one control call when the caller's context has no
// deadline; healing a cut waits for a link, which takes well under a second.
const ctlTimeout = 30 * time.Second

// listenCtl serves the control socket ctl.sock in dir with handle.
func listenCtl(dir string, handle func(context.Context, request) response) (*connServer, error) {
	path := filepath.Join(dir, "ctl.sock")
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return serveConns(ln, func(ctx context.Context, c net.Conn) {
		var req request
		if err := json.NewDecoder(c).Decode(&req); err != nil {
			return
		}
		_ = json.NewEncoder(c).Encode(handle(ctx, req))
	}), nil
}

// callCtl sends one request to the control socket at path.
func callCtl(ctx context.Context, path string, req request) (response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ctlTimeout)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return response{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return response{}, err
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return response{}, err
	}
	return resp, nil
}

// err turns a response's error text back into an error.
func (r response) err() error {
	if r.Error == "" {
		return nil
	}
	return errors.New(r.Error)
}
