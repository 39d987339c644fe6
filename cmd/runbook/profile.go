package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
)

// startProfiles writes pprof profiles when the environment asks for them,
// for measuring the controller (internal/bench -profile):
// RUNBOOK_CPUPROFILE=FILE profiles the CPU of the whole command (at
// RUNBOOK_CPUPROFILE_HZ samples a second, default 100: a run of a second
// gives too few at that rate to tell its parts apart);
// RUNBOOK_MEMPROFILE=FILE writes the heap profile (in use at the end, and
// every allocation made, sampled every 4 KB) when the command ends;
// RUNBOOK_TRACE=FILE writes a Go execution trace of the whole command
// (`go tool trace FILE`): which goroutine woke which, and how often,
// which the CPU profile does not show. The returned function stops them;
// call it before exiting.
func startProfiles(errOut io.Writer) (stop func()) {
	cpuFile, memFile := os.Getenv("RUNBOOK_CPUPROFILE"), os.Getenv("RUNBOOK_MEMPROFILE")
	if memFile != "" {
		// Every 4 KB allocated rather than every 512 KB: a run allocates
		// some tens of MB, too little for the default rate to tell its
		// parts apart.
		runtime.MemProfileRate = 4096
	}
	var cpu *os.File
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if hz, _ := strconv.Atoi(os.Getenv("RUNBOOK_CPUPROFILE_HZ")); err == nil && hz > 0 {
			// Before StartCPUProfile, whose own rate then does not apply
			// (the runtime says so on stderr).
			runtime.SetCPUProfileRate(hz)
		}
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(errOut, "runbook: RUNBOOK_CPUPROFILE: %v\n", err)
		} else {
			cpu = f
		}
	}
	var tr *os.File
	if traceFile := os.Getenv("RUNBOOK_TRACE"); traceFile != "" {
		f, err := os.Create(traceFile)
		if err == nil {
			if err = trace.Start(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			fmt.Fprintf(errOut, "runbook: RUNBOOK_TRACE: %v\n", err)
		} else {
			tr = f
		}
	}
	return func() {
		if tr != nil {
			trace.Stop()
			tr.Close()
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if memFile != "" {
			runtime.GC() // the heap as it is now, not as of the last collection
			f, err := os.Create(memFile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintf(errOut, "runbook: RUNBOOK_MEMPROFILE: %v\n", err)
			}
		}
	}
}
