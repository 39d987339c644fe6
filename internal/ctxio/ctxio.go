// Package ctxio stops a copy when its context ends: a reader and a writer
// that check the context before each call, so that io.Copy over an endless
// or slow stream returns once the context is done.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r that fails with ctx's error once ctx is done;
// r itself when it is already such a reader of ctx. A Read already under
// way is not interrupted.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if cr, ok := r.(reader); ok && cr.ctx == ctx {
		return r
	}
	return reader{ctx, r}
}

// Underlying returns the reader under one of Reader's, or r itself.
func Underlying(r io.Reader) io.Reader {
	if cr, ok := r.(reader); ok {
		return cr.r
	}
	return r
}

// Writer returns a writer to w that fails with ctx's error once ctx is done.
func Writer(ctx context.Context, w io.Writer) io.Writer { return writer{ctx, w} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type writer struct {
	ctx context.Context
	w   io.Writer
}

func (c writer) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
