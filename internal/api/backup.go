package api

import (
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/epiledger/epiledger/internal/backup"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
)

// backup serves POST /v1/backup to the administrator: a consistent copy of
// the node's store, taken while it runs (a Pebble checkpoint), as a tar
// stream: the manifest, then the store's files under data/. The copy holds
// what the store holds, the vault's sealed entries included (sealed with
// the chain's secret, which is not in it), so it names its case and
// purpose and its audit record is committed before anything is copied.
// One at a time.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	r, info := s.begin(w, r, SmallBody)
	r, p, err := s.admit(r, admins, SmallBody)
	if err == nil {
		err = onlyParams(r)
	}
	if err == nil {
		err = checkCasePurpose(p)
	}
	if _, ok := s.n.Engine.(node.Prover); ok && err == nil {
		err = errf(http.StatusConflict, "not_supported", "", "a consortium validator's store goes with CometBFT's block store at the same height: back up the home's keys and config, and restore a validator from its peers (it catches up)")
	}
	if err != nil {
		s.reply(w, r, info, nil, err)
		return
	}
	select {
	case s.backingUp <- struct{}{}:
		defer func() { <-s.backingUp }()
	default:
		s.reply(w, r, info, nil, errf(http.StatusConflict, "busy", "", "a backup of this node is under way"))
		return
	}
	// The copy holds every record of every person: its audit record is
	// committed first, as for any read of personal data, or nothing is
	// copied.
	if _, err := s.n.AuditRead(r.Context(), p.caller(r.Pattern), []node.Subject{{Route: "backup", From: -ledger.MaxWindow, To: ledger.MaxWindow}}); err != nil {
		s.reply(w, r, info, nil, s.auditFailed(r, err))
		return
	}
	s.metrics.audited.WithLabelValues(r.Pattern).Inc()
	tmp, man, err := s.checkpoint()
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		s.log.Error("backup failed", "err", err)
		s.reply(w, r, info, nil, errf(http.StatusInternalServerError, "internal", "", "the checkpoint could not be taken (the node's log says why)"))
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := backup.Write(w, filepath.Join(tmp, "data"), man); err != nil {
		// The answer has begun: the client finds the stream cut short
		// (no end of archive, fewer files than the manifest says).
		s.log.Error("backup: stream cut", "err", err)
	}
	s.done(r, info, http.StatusOK)
}

// checkpoint takes the store's checkpoint into a new directory of the
// home (the same file system: table files are hard-linked, not copied),
// and reads its head. tmp is to be removed by the caller.
func (s *Server) checkpoint() (tmp string, man *backup.Manifest, err error) {
	tmp, err = os.MkdirTemp(s.n.Home.Dir, ".backup-")
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(tmp, "data")
	if err := s.n.DB.Checkpoint(dir); err != nil {
		return tmp, nil, err
	}
	db, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		return tmp, nil, err
	}
	g := s.n.Home.Genesis
	head, err := blocks.ReadHead(db, &g)
	db.Close()
	if err != nil {
		return tmp, nil, err
	}
	man = &backup.Manifest{Format: backup.Format, ChainID: g.ChainID, GenesisHash: g.Hash().String(), Height: head.Height,
		Head: head.Hash.String(), StateHash: head.StateHash.String(), Created: time.Now().UTC().Format(time.RFC3339)}
	man.Files, man.Bytes, err = backup.Count(dir)
	return tmp, man, err
}
