package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IO is where a command reads and writes: results and progress to Out,
// diagnostics to Err. Tests use in-memory streams.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// OutTTY and InTTY say whether stdout and stdin are terminals.
	OutTTY bool
	InTTY  bool
	// Width is the terminal width (0 when unknown).
	Width int
	// Getenv reads the environment.
	Getenv func(string) string
}

// SystemIO is the process's own streams.
func SystemIO() *IO {
	io := &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv}
	io.OutTTY = term.IsTerminal(int(os.Stdout.Fd()))
	io.InTTY = term.IsTerminal(int(os.Stdin.Fd()))
	if io.OutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			io.Width = w
		}
	}
	return io
}

// color says whether to colour output: on a terminal, without NO_COLOR and
// without --no-color.
func (io *IO) color(noColor bool) bool {
	return io.OutTTY && !noColor && io.Getenv("NO_COLOR") == ""
}
