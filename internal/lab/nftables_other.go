//go:build !linux

package lab

import (
	"context"
	"errors"
)

// nftBatch is an nftables transaction; nftables exists only on Linux.
type nftBatch struct{}

func (p *plan) serverNFT() *nftBatch { return &nftBatch{} }

func (p *plan) ispNFT(int, *controlState, bool) *nftBatch { return &nftBatch{} }

func (b *nftBatch) run(context.Context, string) error { return errors.ErrUnsupported }
