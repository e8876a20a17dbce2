// Command floor is the reference the launch benchmark measures niod
// against: the least a Go supervisor built on niod's own libraries (pflag
// for flags, zapcore for the log, go-systemd for sd_notify) does to run a
// command and pass on its exit code. What niod takes beyond it is the cost
// of its features.
package main

import (
	"os"
	"os/exec"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
)

func main() {
	level := pflag.String("log-level", "error", "log level")
	pflag.Parse()
	lvl, err := zapcore.ParseLevel(*level)
	if err != nil {
		os.Exit(64)
	}
	log := zapcore.NewCore(zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg"}), zapcore.Lock(os.Stderr), lvl)
	if pflag.NArg() == 0 {
		os.Exit(64)
	}
	cmd := exec.Command(pflag.Arg(0), pflag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		_ = log.Write(zapcore.Entry{Level: zapcore.ErrorLevel, Message: err.Error()}, nil)
		os.Exit(69)
	}
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
	_ = cmd.Wait()
	os.Exit(cmd.ProcessState.ExitCode())
}
