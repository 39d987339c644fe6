// Package shell runs a lab node's commands: a mvdan.cc/sh/v3 interpreter whose
// every file access and every program is confined to the node's root
// directory (an os.Root), with Go implementations of the usual utilities.
// Programs of the simulated system (apt-get, systemctl, crictl, kubectl, ...)
// come from package sim and are plugged in through Machine.Programs.
package shell

import (
	"context"
	"io"
	"os"
)

// Machine is one lab node as its commands see it.
type Machine struct {
	// Name is the inventory host name of the node.
	Name string
	// Root confines every file access of the node (os.OpenRoot of
	// STATE_DIR/lab/NODE/root). Paths seen by commands are absolute inside it.
	Root *os.Root
	// Programs are the simulated system's programs, by name (argv[0] without
	// its directory). They take precedence over nothing: a builtin utility of
	// this package with the same name is shadowed by an entry here.
	Programs map[string]Program
	// Env is the initial environment of every command (PATH, HOME, ...).
	Env map[string]string
	// OnReboot, when set, is called by the simulated reboot program: the lab
	// server then drops the node's connections and refuses new ones for a
	// moment, as a rebooting machine does.
	OnReboot func()
	// Detach, when set, runs job in the background beyond the command that
	// started it (setsid -f, nohup), until the node stops: ctx ends when
	// the lab closes. Unset, such a job ends with the command that started
	// it.
	Detach func(job func(ctx context.Context))
	// Started, when set, is told of each program as it starts, with its
	// argv, and returns what to call when the program ends: the server's
	// list of the node's running processes.
	Started func(argv []string) (ended func())
}

// Call is one invocation of a program.
type Call struct {
	Ctx     context.Context
	Machine *Machine
	// Args is the argv; Args[0] is the program name as invoked.
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Dir is the working directory, absolute inside the node's root.
	Dir string
	// Env looks up an exported variable of the calling shell.
	Env func(name string) string
	// Environ, when set, lists every exported variable of the calling shell
	// as NAME=value, sorted by name.
	Environ func() []string

	// umask is the calling shell's file mode creation mask (set by the
	// umask builtin); nil leaves the controller's umask in effect.
	umask *shellUmask
}

// Program is a simulated program; it returns the exit status.
type Program func(c *Call) int
