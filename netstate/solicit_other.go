//go:build !linux

package netstate

import "errors"

// solicitRouters is not supported here: the Monitor polls the standard
// library, which hears no Router Advertisement.
func solicitRouters(int, []int) error { return errors.ErrUnsupported }
