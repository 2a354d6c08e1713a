package clusterbench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Etcd is etcd's figures from the same run: the anchor for ingest and
// catch-up (puts of a value the size of a one-bid entry, through etcd's
// JSON gateway, as Allot's bids go through its JSON API).
type Etcd struct {
	Version        string  `json:"version"`
	PutSinglePerS  float64 `json:"put_single_per_s"`
	PutSingleP99MS float64 `json:"put_single_p99_ms"`
	CatchupS       float64 `json:"catchup_s"`
	Errors         int64   `json:"errors"`
}

// etcdMember is one etcd process on loopback, its data under the run's
// temporary directory.
type etcdMember struct {
	name, client string
	args         []string
	logPath      string
	cmd          *exec.Cmd
	done         chan struct{}
}

type etcdCluster struct {
	bin     string
	log     hclog.Logger
	members []*etcdMember
	hc      *http.Client
}

// startEtcd starts a three-member etcd cluster and waits for a leader.
func startEtcd(ctx context.Context, log hclog.Logger, bin, dir string, conns int) (*etcdCluster, error) {
	ec := &etcdCluster{bin: bin, log: log, hc: &http.Client{Transport: pooledTransport(conns), Timeout: 30 * time.Second}}
	var peers []string
	var ports [][2]int
	for i := 1; i <= 3; i++ {
		cp, err := freePort()
		if err != nil {
			return nil, err
		}
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		ports = append(ports, [2]int{cp, pp})
		peers = append(peers, fmt.Sprintf("e%d=http://127.0.0.1:%d", i, pp))
	}
	for i, p := range ports {
		name := fmt.Sprintf("e%d", i+1)
		client := "http://127.0.0.1:" + strconv.Itoa(p[0])
		peer := "http://127.0.0.1:" + strconv.Itoa(p[1])
		m := &etcdMember{name: name, client: client, logPath: filepath.Join(dir, name+".log"), args: []string{
			"--name", name, "--data-dir", filepath.Join(dir, name),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(peers, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "allot-bench", "--logger", "zap", "--log-level", "warn"}}
		ec.members = append(ec.members, m)
		if err := ec.start(m); err != nil {
			ec.stop()
			return nil, err
		}
	}
	if err := poll(ctx, time.Minute, 50*time.Millisecond, func() bool { return ec.leader(ctx) != nil }); err != nil {
		ec.stop()
		return nil, fmt.Errorf("waiting for an etcd leader: %w", err)
	}
	return ec, nil
}

func (ec *etcdCluster) start(m *etcdMember) error {
	out, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("etcd log: %w", err)
	}
	cmd := exec.Command(ec.bin, m.args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("starting %s %s: %w", ec.bin, m.name, err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(m.done) }()
	return nil
}

// stopMember ends one member (SIGTERM, then SIGKILL after 10 s).
func (ec *etcdCluster) stopMember(m *etcdMember) {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

func (ec *etcdCluster) stop() {
	for _, m := range ec.members {
		ec.stopMember(m)
	}
}

type etcdStatus struct {
	Header struct {
		MemberID string `json:"member_id"`
		Revision string `json:"revision"`
	} `json:"header"`
	Version      string `json:"version"`
	Leader       string `json:"leader"`
	RaftIndex    string `json:"raftIndex"`
	AppliedIndex string `json:"raftAppliedIndex"`
}

func (ec *etcdCluster) call(ctx context.Context, m *etcdMember, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.client+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := ec.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %s", path, resp.Status)
	}
	if out == nil {
		_, err = bytes.NewBuffer(nil).ReadFrom(resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (ec *etcdCluster) status(ctx context.Context, m *etcdMember) (etcdStatus, error) {
	var st etcdStatus
	err := ec.call(ctx, m, "/v3/maintenance/status", map[string]any{}, &st)
	return st, err
}

// leader is the member that leads, or nil.
func (ec *etcdCluster) leader(ctx context.Context) *etcdMember {
	for _, m := range ec.members {
		if m.cmd == nil {
			continue
		}
		if st, err := ec.status(ctx, m); err == nil && st.Leader != "" && st.Leader == st.Header.MemberID {
			return m
		}
	}
	return nil
}

func (ec *etcdCluster) put(ctx context.Context, m *etcdMember, key string, value []byte) error {
	return ec.call(ctx, m, "/v3/kv/put", map[string]string{
		"key": base64.StdEncoding.EncodeToString([]byte(key)), "value": base64.StdEncoding.EncodeToString(value)}, nil)
}

// runEtcd measures etcd's single-put rate with o.Clients callers and the
// catch-up of a member that missed o.CatchupEntries puts.
func runEtcd(ctx context.Context, log hclog.Logger, o Options, dir string) (*Etcd, error) {
	ec, err := startEtcd(ctx, log, o.EtcdBin, dir, o.Clients+32)
	if err != nil {
		return nil, err
	}
	defer ec.stop()
	l := ec.leader(ctx)
	if l == nil {
		return nil, fmt.Errorf("no etcd leader")
	}
	st, _ := ec.status(ctx, l)
	out := &Etcd{Version: st.Version}
	value := bytes.Repeat([]byte("x"), 200) // about a one-bid entry
	single := closedLoop(ctx, o.Clients, o.Ingest, func(ctx context.Context, g, i int) error {
		return ec.put(ctx, l, fmt.Sprintf("bench/%d/%d", g, i%1000), value)
	})
	out.PutSinglePerS = round(float64(single.ok)/single.elapsed.Seconds(), 0)
	out.PutSingleP99MS = single.lat.p(99)
	out.Errors = single.errs

	var away *etcdMember
	for _, m := range ec.members {
		if m != l {
			away = m
			break
		}
	}
	ec.stopMember(away)
	var next atomic.Int64
	var wg sync.WaitGroup
	var errs atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(o.CatchupEntries) && ctx.Err() == nil; i = next.Add(1) {
				if err := ec.put(ctx, l, fmt.Sprintf("catchup/%d", i), value); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	out.Errors += errs.Load()
	lst, err := ec.status(ctx, l)
	if err != nil {
		return out, fmt.Errorf("etcd leader status: %w", err)
	}
	target, _ := strconv.ParseUint(lst.RaftIndex, 10, 64)
	t0 := time.Now()
	if err := ec.start(away); err != nil {
		return out, err
	}
	err = poll(ctx, 2*time.Minute, 5*time.Millisecond, func() bool {
		st, err := ec.status(ctx, away)
		applied, _ := strconv.ParseUint(st.AppliedIndex, 10, 64)
		return err == nil && applied >= target
	})
	if err != nil {
		return out, fmt.Errorf("etcd member catching up to %d: %w", target, err)
	}
	out.CatchupS = round(time.Since(t0).Seconds(), 3)
	return out, nil
}
