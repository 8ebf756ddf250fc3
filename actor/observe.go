package actor

import (
	"context"
	"strings"
	"sync/atomic"
)

// What an observer (Erlang's observer, troupe's dashboard) can see of the
// running processes: their supervision trees with mailbox lengths and
// restarts, and counts per tree. None of it costs a message anything: the
// counts are kept where crashes and restarts happen (rare events), and a
// mailbox's length is estimated from the position its owner publishes once
// per batch of messages.

// treeCounts are the crashes and restarts counted in one supervision tree.
type treeCounts struct {
	crashes, restarts atomic.Uint64
}

// maxTrees bounds the trees counted apart; the others share otherTree.
const (
	maxTrees  = 1024
	otherTree = "(other)"
)

// tree returns the counts of the tree named name.
func (s *System) tree(name string) *treeCounts {
	if v, ok := s.trees.Load(name); ok {
		return v.(*treeCounts)
	}
	if s.nTrees.Load() >= maxTrees {
		name = otherTree
	} else {
		s.nTrees.Add(1)
	}
	v, _ := s.trees.LoadOrStore(name, new(treeCounts))
	return v.(*treeCounts)
}

// treeOf returns the tree of a supervisor path: its first element.
func treeOf(path string) string {
	tree, _, _ := strings.Cut(path, "/")
	return tree
}

// publishCursor publishes the owner's position in its mailbox; only the
// owner calls it.
func (p *process) publishCursor() {
	seg := p.cur.head
	if seg == nil {
		seg = p.mbox.first.Load() // the segment it reads first
	}
	p.pubSeg.Store(seg)
	p.pubHi.Store(p.cur.hi)
}

// maxCounted bounds the count of one mailbox's messages.
const maxCounted = 1 << 20

// mailboxLen estimates how many messages wait in p's mailbox: those
// published after its owner's position at the start of its current batch
// (or when it went idle), so the message being handled counts too. It is
// safe to call from any goroutine.
func (p *process) mailboxLen() int {
	seg, hi := p.pubSeg.Load(), p.pubHi.Load()
	if seg == nil {
		seg, hi = p.mbox.first.Load(), 0
	}
	n := 0
	for seg != nil {
		for i := int(hi); i < len(seg.slots); i++ {
			if seg.slots[i].ready.Load() == 0 || n >= maxCounted {
				return n
			}
			n++
		}
		seg, hi = seg.next.Load(), 0
	}
	return n
}

// treeName returns the tree p belongs to: the first element of its
// supervisor's path, its own name for a top-level process, else its
// parent's tree.
func (p *process) treeName() string {
	for q, depth := p, 0; q != nil && depth < 64; depth++ {
		if e := q.ext.Load(); e != nil && e.supPath != "" {
			return treeOf(e.supPath)
		}
		if q.top {
			return q.name
		}
		q = q.parent()
	}
	return ""
}

// ProcessInfo is what Inspect tells of one process.
type ProcessInfo struct {
	PID     PID
	Name    string // the name it was spawned with, or ""
	Alive   bool
	Mailbox int // messages waiting, estimated (see Inspect)
	// Supervisor is the path of its supervisor, or "".
	Supervisor string
	Restarts   int // times its supervisor restarted it before this start
}

// Inspect returns what can be seen of pid's process from outside without
// disturbing it. Mailbox is an estimate: the messages its owner has not
// taken as of the start of the batch it is handling (the message being
// handled included), or 0 once it is idle.
func Inspect(pid PID) ProcessInfo {
	p := pid.p
	if p == nil {
		return ProcessInfo{}
	}
	info := ProcessInfo{PID: pid, Name: p.name, Alive: pid.Alive()}
	if info.Alive {
		info.Mailbox = p.mailboxLen()
	}
	if e := p.ext.Load(); e != nil {
		info.Supervisor, info.Restarts = e.supPath, e.restarts
	}
	return info
}

// TreeNode is one process of a supervision tree, as Tree saw it.
type TreeNode struct {
	ProcessInfo
	// Child is its name in its supervisor's spec ("" at the root).
	Child string
	// IsSupervisor says whether it is a supervisor; Children lists its
	// children in start order, at most Tree's limit of them, and More
	// counts the others.
	IsSupervisor bool
	Restarting   bool // its supervisor is restarting it (Child with no PID)
	Children     []TreeNode
	More         int
}

// Tree returns the supervision tree under root, a supervisor (or any
// process: a leaf), asking each supervisor for its children. It lists at
// most limit children per supervisor (limit < 1 means 100), so that a
// supervisor of thousands of request processes stays readable.
func Tree(ctx context.Context, root PID, limit int) (TreeNode, error) {
	if limit < 1 {
		limit = 100
	}
	return tree(ctx, root, "", limit, 0)
}

func tree(ctx context.Context, pid PID, child string, limit, depth int) (TreeNode, error) {
	n := TreeNode{ProcessInfo: Inspect(pid), Child: child}
	if _, err := supervisorOf(pid); err != nil || depth > 32 {
		return n, nil
	}
	n.IsSupervisor = true
	kids, err := Children(ctx, pid)
	if err != nil {
		if !pid.Alive() {
			return n, nil // it stopped meanwhile
		}
		return n, err
	}
	for i, k := range kids {
		if i >= limit {
			n.More = len(kids) - limit
			break
		}
		if k.PID.IsZero() {
			n.Children = append(n.Children, TreeNode{Child: k.Name, IsSupervisor: k.Supervisor, Restarting: k.Restarting,
				ProcessInfo: ProcessInfo{Restarts: k.Restarts}})
			continue
		}
		c, err := tree(ctx, k.PID, k.Name, limit, depth+1)
		if err != nil {
			return n, err
		}
		n.Children = append(n.Children, c)
	}
	return n, nil
}

// TreeStats are the counts of one supervision tree (see Trees).
type TreeStats struct {
	// Name is the tree's: its top supervisor's name (the service SDK
	// names a service instance's tree after the instance's id).
	Name      string
	Processes int    // live processes in it
	Mailbox   int    // messages waiting in their mailboxes, estimated
	MaxQueue  int    // the longest of those mailboxes
	Crashes   uint64 // crashes of its processes, ever
	Restarts  uint64 // restarts by its supervisors, ever
}

// Trees returns the counts of every supervision tree that has live processes
// or has counted a crash or a restart, walking the live processes once.
func (s *System) Trees() []TreeStats {
	byName := map[string]*TreeStats{}
	get := func(name string) *TreeStats {
		t := byName[name]
		if t == nil {
			t = &TreeStats{Name: name}
			byName[name] = t
		}
		return t
	}
	s.mu.Lock()
	procs := make([]*process, 0, s.live)
	for p := s.first; p != nil; p = p.next {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		if p.gone.Load() {
			continue
		}
		t := get(p.treeName())
		t.Processes++
		q := p.mailboxLen()
		t.Mailbox += q
		t.MaxQueue = max(t.MaxQueue, q)
	}
	s.trees.Range(func(k, v any) bool {
		t := get(k.(string))
		c := v.(*treeCounts)
		t.Crashes, t.Restarts = c.crashes.Load(), c.restarts.Load()
		return true
	})
	out := make([]TreeStats, 0, len(byName))
	for _, t := range byName {
		out = append(out, *t)
	}
	return out
}

// TopLevel returns the live top-level processes (started by System.Spawn
// and System.StartSupervisor, the roots of the supervision trees), oldest
// first.
func (s *System) TopLevel() []PID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PID
	for p := s.first; p != nil; p = p.next {
		if p.top && !p.gone.Load() {
			out = append(out, PID{p})
		}
	}
	return out
}
