package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Book is a client's Resolver. A service block in the agent's own config
// is this node's definition of that service and wins; every other service
// is looked up in the registry (fetch: the cluster's service definitions),
// and the last answer is kept in memory and in data_dir/client/services.json,
// beside the persisted plan, so a client restarted while no server answers
// re-applies that plan into the same cgroups and interfaces.
type Book struct {
	local map[string]Target
	fetch func(context.Context) (map[string]Target, error)
	path  string
	log   hclog.Logger

	mu    sync.Mutex
	cache map[string]Target
}

// fetchTimeout bounds one registry lookup: a plan is applied after it, so a
// silent server must not hold enforcement up for long.
const fetchTimeout = 10 * time.Second

// NewBook returns a Book; dataDir "" keeps the cache in memory only.
func NewBook(local map[string]Target, fetch func(context.Context) (map[string]Target, error), dataDir string, log hclog.Logger) *Book {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	b := &Book{local: local, fetch: fetch, log: log.Named("enforce")}
	if dataDir == "" {
		return b
	}
	b.path = filepath.Join(dataDir, "client", "services.json")
	raw, err := os.ReadFile(b.path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("cannot read the cached service definitions", "file", b.path, "error", err)
		}
		return b
	}
	if err := json.Unmarshal(raw, &b.cache); err != nil {
		b.log.Warn("ignoring the cached service definitions", "file", b.path, "error", err)
		b.cache = nil
	}
	return b
}

// Resolve implements Resolver.
func (b *Book) Resolve(ctx context.Context, services []string) (map[string]Target, error) {
	out := map[string]Target{}
	var rest []string
	for _, s := range services {
		if t, ok := b.local[s]; ok {
			out[s] = t
		} else {
			rest = append(rest, s)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	fresh, err := b.fetch(fctx)
	cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && !maps.Equal(fresh, b.cache) {
		b.cache = fresh
		if b.path != "" {
			if werr := writeAtomic(b.path, fresh); werr != nil {
				b.log.Warn("cannot cache the service definitions", "file", b.path, "error", werr)
			}
		}
	}
	for _, s := range rest {
		if t, ok := b.cache[s]; ok {
			out[s] = t
		}
	}
	if err != nil {
		return out, fmt.Errorf("fetching service definitions: %w", err)
	}
	return out, nil
}
