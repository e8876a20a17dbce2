package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// MaxAnswer is the longest answer line a client reads, newline included.
const MaxAnswer = 1 << 20

// findTimeout bounds each connect of Find.
var findTimeout = time.Second

// maxTriedShown is how many tried paths a NotRunningError names.
const maxTriedShown = 6

// NotRunningError says that no niod listens where the client looked.
type NotRunningError struct {
	// Root is the project's root, when the caller knows it (Locate sets
	// it), for the message.
	Root string
	// Path is the socket Ask found no listener at.
	Path string
	// Tried are the sockets Find tried, in order.
	Tried []string
	// Denied are those of Tried the client may not reach (permission
	// denied on the socket or a directory above it): a niod may run
	// there for another user.
	Denied []string
}

func (e *NotRunningError) Error() string {
	project := "the project"
	if e.Root != "" {
		project += " " + e.Root
	}
	if e.Tried == nil {
		return fmt.Sprintf("no niod runs %s: nothing listens at %s", project, e.Path)
	}
	msg := fmt.Sprintf("no niod runs %s: looked for its control socket at %s (set NIOD_CONTROL to the socket's path if it is elsewhere)", project, shortList(e.Tried))
	if len(e.Denied) > 0 {
		msg += fmt.Sprintf("; permission denied at %s: run it as root, as niod's user or as a member of niod's control group", shortList(e.Denied))
	}
	return msg
}

// shortList joins paths, naming the first few and counting the rest.
func shortList(paths []string) string {
	if len(paths) <= maxTriedShown {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:maxTriedShown], ", "), len(paths)-maxTriedShown)
}

// Ask sends req (V set to Version when it is 0) to the niod listening at
// path and reads its answer, all within timeout. When nothing listens
// there the error is a *NotRunningError; when the client may not connect
// it wraps os.ErrPermission.
func Ask(path string, req Request, timeout time.Duration) (Answer, error) {
	if req.V == 0 {
		req.V = Version
	}
	b, err := json.Marshal(req)
	if err != nil {
		return Answer{}, fmt.Errorf("cannot encode the request: %v", err)
	}
	deadline := time.Now().Add(timeout)
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return Answer{}, dialError(path, err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	_, werr := c.Write(append(b, '\n'))
	// Even when the write failed: a busy or refusing niod answers at
	// once and closes, maybe before the request is sent.
	line, err := readLine(c)
	if err != nil && werr != nil {
		err = werr
	}
	if err != nil {
		return Answer{}, exchangeError(path, timeout, err)
	}
	var a Answer
	if err := json.Unmarshal(line, &a); err != nil {
		return Answer{}, fmt.Errorf("niod at %s gave an answer that is not JSON: %v", path, err)
	}
	return a, nil
}

// errTooLong is an answer line longer than MaxAnswer.
var errTooLong = errors.New("answer too long")

// readLine reads one line of at most MaxAnswer bytes.
func readLine(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxAnswer))
	line, err := br.ReadBytes('\n')
	if err == io.EOF && len(line) == MaxAnswer {
		return nil, errTooLong
	}
	return line, err
}

func dialError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.ENOTDIR):
		return &NotRunningError{Path: path}
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("may not connect to niod's control socket %s: %w: run it as root, as niod's user or as a member of niod's control group", path, os.ErrPermission)
	case errors.Is(err, unix.EAGAIN):
		return fmt.Errorf("niod's control socket %s is busy: try again", path)
	case isTimeout(err):
		return fmt.Errorf("niod's control socket %s did not take the connection in time", path)
	}
	return fmt.Errorf("cannot connect to niod's control socket %s: %v", path, cause(unwrapOp(err)))
}

func exchangeError(path string, timeout time.Duration, err error) error {
	switch {
	case isTimeout(err):
		return fmt.Errorf("no answer from niod at %s within %s", path, timeout)
	case errors.Is(err, io.EOF), errors.Is(err, unix.ECONNRESET), errors.Is(err, unix.EPIPE):
		return fmt.Errorf("niod at %s closed the connection without an answer", path)
	case errors.Is(err, errTooLong):
		return fmt.Errorf("niod at %s gave an answer longer than %d bytes", path, MaxAnswer)
	}
	return fmt.Errorf("talking to niod at %s: %v", path, cause(unwrapOp(err)))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unwrapOp is the error under a *net.OpError, whose text repeats the
// address.
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// Find is the first of candidates where a niod listens (a connect
// succeeds). When there is none the error is a *NotRunningError naming
// them.
func Find(candidates []string) (string, error) {
	var denied []string
	for _, p := range candidates {
		c, err := net.DialTimeout("unix", p, findTimeout)
		if err == nil {
			c.Close()
			return p, nil
		}
		switch {
		case errors.Is(err, unix.EAGAIN):
			return p, nil // listening, its queue full
		case errors.Is(err, os.ErrPermission):
			denied = append(denied, p)
		}
	}
	return "", &NotRunningError{Tried: append([]string{}, candidates...), Denied: denied}
}

// Locate finds the control socket of the project at root from a client's
// environment and effective uid: Find over Candidates, the error naming
// the root.
func Locate(getenv func(string) string, euid int, root string) (string, error) {
	p, err := Find(Candidates(getenv, euid, root))
	var nr *NotRunningError
	if errors.As(err, &nr) {
		nr.Root = absClean(root)
	}
	return p, err
}
