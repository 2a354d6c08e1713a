package api

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Finding 13 of issue 13: a caller that goes away while its answer is
// written is not an ERROR in the agent's log.
func TestCallerGoneIsNotAnError(t *testing.T) {
	var out bytes.Buffer
	s := NewServer(Options{Agent: membersView{}, Logger: hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Info})})
	for _, err := range []error{fmt.Errorf("writing the answer: %w", syscall.EPIPE), fmt.Errorf("write: %w", syscall.ECONNRESET)} {
		s.finish(httptest.NewRecorder(), err)
	}
	if strings.Contains(out.String(), "ERROR") {
		t.Fatalf("a gone caller logged as an error:\n%s", out.String())
	}
	s.finish(httptest.NewRecorder(), fmt.Errorf("something real"))
	if !strings.Contains(out.String(), "[ERROR]") {
		t.Fatal("a real failure is no longer logged")
	}
}
