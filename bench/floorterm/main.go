// Command floorterm is the reference the SIGTERM and memory benchmarks
// measure niod against: the least a Go supervisor does to stop its child on
// request. It starts COMMAND, forwards SIGTERM to it, waits for it and exits
// 143. Only the standard library, so its figures are the Go runtime's own.
//
// usage: floorterm COMMAND [ARG...]
package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: floorterm COMMAND [ARG...]\n")
		os.Exit(64)
	}
	// Notify before the start: a SIGTERM right after it must not kill us
	// with the child left behind.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("floorterm: " + err.Error() + "\n")
		os.Exit(69)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-term:
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		os.Exit(143)
	case <-done:
		os.Exit(cmd.ProcessState.ExitCode())
	}
}
