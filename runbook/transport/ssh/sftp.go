package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/internal/ctxio"
	"github.com/runbookhq/runbook/runbook/transport"
)

// sftpConcurrency is how many SFTP write requests an upload keeps in
// flight (of 32 KiB each).
const sftpConcurrency = 64

// sftpClient is the SFTP client of one connection, opened on first use.
type sftpClient struct {
	client *sftp.Client
	done   chan struct{} // closed when the SFTP session has ended
}

// sftpClient returns the connection's SFTP client, opening it (one round
// trip) the first time or after it ended.
func (c *conn) sftpClient(ctx context.Context) (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if s := c.sftp; s != nil {
		select {
		case <-s.done:
			c.sftp = nil
		default:
			return s.client, nil
		}
	}
	type opened struct {
		fc  *sftp.Client
		err error
	}
	var o opened
	for refusals := 0; ; refusals++ {
		ch := make(chan opened, 1)
		go func() {
			fc, err := sftp.NewClient(c.client, sftp.UseConcurrentWrites(true))
			ch <- opened{fc, err}
		}()
		select {
		case o = <-ch:
		case <-ctx.Done():
			go func() {
				if o := <-ch; o.fc != nil {
					o.fc.Close()
				}
			}()
			return nil, ctx.Err()
		}
		var refused *ssh.OpenChannelError
		if !errors.As(o.err, &refused) {
			break
		}
		// Refused (MaxSessions, say): asked again, as sessions are, once
		// the driver has made way.
		if c.yieldDriver() {
			refusals--
			continue
		}
		if !waitRefused(ctx, refusals) {
			return nil, fmt.Errorf("%w: %w", transport.ErrSessionRefused, o.err)
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	s := &sftpClient{client: o.fc, done: make(chan struct{})}
	go func() {
		o.fc.Wait()
		close(s.done)
	}()
	c.sftp = s
	return o.fc, nil
}

// withSFTP runs op with the SFTP client of the live connection. An error
// from a connection that turns out to have dropped is ErrUnreachable; when
// the drop is found before op could run, it redials once first.
func (h *host) withSFTP(ctx context.Context, what string, op func(*sftp.Client) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %s: %w", h.ep.name, what, err)
		}
		c, err := h.conn(ctx)
		if err != nil {
			return err
		}
		fc, err := c.sftpClient(ctx)
		if err == nil {
			err = op(fc)
			if err == nil {
				return nil
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("%s: %s: %w (%v)", h.ep.name, what, ctxErr, err)
			}
			if !serverAnswered(err) && c.dead() {
				h.forget(c)
				return transport.Unreachable(h.ep.name, fmt.Errorf("%s: connection lost: %w", what, err))
			}
			return fmt.Errorf("%s: %s: %w", h.ep.name, what, err)
		}
		if ctx.Err() != nil || !c.dead() {
			return fmt.Errorf("%s: %s: starting sftp: %w", h.ep.name, what, err)
		}
		h.forget(c)
		if attempt > 0 {
			return transport.Unreachable(h.ep.name, fmt.Errorf("%s: starting sftp: %w", what, err))
		}
	}
}

// serverAnswered reports whether err is the SFTP server's answer (no such
// file, permission denied, another status), which proves the connection
// alive without asking.
func serverAnswered(err error) bool {
	var status *sftp.StatusError
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.As(err, &status)
}

// Upload writes r to a temporary file beside p, sets its mode, and renames
// it over p (posix-rename@openssh.com): readers never see a partial file,
// and a failed upload leaves nothing behind.
func (h *host) Upload(ctx context.Context, p string, r io.Reader, mode fs.FileMode) error {
	return h.withSFTP(ctx, "upload "+p, func(fc *sftp.Client) error {
		suffix := make([]byte, 6)
		rand.Read(suffix)
		dir, base := path.Split(p)
		tmp := path.Join(dir, "."+base+".runbook-"+hex.EncodeToString(suffix))
		f, err := fc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err != nil {
			return err
		}
		err = func() error {
			if _, err := f.ReadFromWithConcurrency(ctxio.Reader(ctx, r), sftpConcurrency); err != nil {
				return err
			}
			if err := f.Chmod(mode.Perm()); err != nil {
				return err
			}
			return f.Close()
		}()
		if err == nil {
			err = fc.PosixRename(tmp, p)
		}
		if err != nil {
			f.Close()
			fc.Remove(tmp)
		}
		return err
	})
}

// Download copies the file at p to w.
func (h *host) Download(ctx context.Context, p string, w io.Writer) error {
	return h.withSFTP(ctx, "download "+p, func(fc *sftp.Client) error {
		f, err := fc.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteTo(ctxio.Writer(ctx, w))
		return err
	})
}

// Stat reports the file at p; errors.Is(err, fs.ErrNotExist) when absent.
func (h *host) Stat(ctx context.Context, p string) (transport.FileInfo, error) {
	var info transport.FileInfo
	err := h.withSFTP(ctx, "stat "+p, func(fc *sftp.Client) error {
		fi, err := fc.Stat(p)
		if err != nil {
			return err
		}
		info = transport.FileInfo{Size: fi.Size(), Mode: fi.Mode(), IsDir: fi.IsDir()}
		return nil
	})
	return info, err
}
