package store

import (
	"fmt"
	"slices"
)

// tableNames names the tables for people (Usage): their constants' names.
var tableNames = map[byte]string{
	TabAccessRequest: "access-request",
	TabAlert:         "alert",
	TabAlertRecord:   "alert-record",
	TabAlias:         "alias",
	TabAllocFlag:     "alloc-flag",
	TabAnchor:        "anchor",
	TabAttestation:   "attestation",
	TabAttestedBy:    "attested-by",
	TabAudit:         "audit",
	TabCard:          "card",
	TabCardDay:       "card-day",
	TabCardPlace:     "card-place",
	TabCardVersion:   "card-version",
	TabCarriedPub:    "carried-pub",
	TabCase:          "case",
	TabCaseList:      "case-list",
	TabChild:         "child",
	TabClusterCard:   "cluster-card",
	TabCommit:        "commit",
	TabCorr:          "corr",
	TabCorrHist:      "corr-hist",
	TabCount:         "count",
	TabCounter:       "counter",
	TabDecision:      "decision",
	TabDoctor:        "doctor",
	TabDonation:      "donation",
	TabDonationIndex: "donation-index",
	TabDonationShip:  "donation-ship",
	TabDonationTotal: "donation-total",
	TabEncounter:     "encounter",
	TabGrant:         "grant",
	TabGrantee:       "grantee",
	TabHeader:        "header",
	TabHolding:       "holding",
	TabIntel:         "intel",
	TabIntelConfirm:  "intel-confirm",
	TabIntelID:       "intel-i-d",
	TabIntelSeen:     "intel-seen",
	TabMeta:          "meta",
	TabNeed:          "need",
	TabOffer:         "offer",
	TabOfferRef:      "offer-ref",
	TabPBlock:        "p-block",
	TabPVal:          "p-val",
	TabPending:       "pending",
	TabPerson:        "person",
	TabPublish:       "publish",
	TabRejected:      "rejected",
	TabReplay:        "replay",
	TabRevoked:       "revoked",
	TabRole:          "role",
	TabRule:          "rule",
	TabSChain:        "s-chain",
	TabSHead:         "s-head",
	TabSite:          "site",
	TabSiteCase:      "site-case",
	TabSiteDur:       "site-dur",
	TabSiteIdx:       "site-idx",
	TabSiteNum:       "site-num",
	TabStatsPub:      "stats-pub",
	TabSupplyHistory: "supply-history",
	TabSupplyItem:    "supply-item",
	TabSupplySignal:  "supply-signal",
	TabTotal:         "total",
	TabTx:            "tx",
	TabTxIndex:       "tx-index",
	TabValChange:     "val-change",
	TabValSet:        "val-set",
	TabValUpdates:    "val-updates",
	TabVault:         "vault",
	TabVaultLog:      "vault-log",
	TabWinLog:        "win-log",
}

// TableName is table t's name ("table 'c'" for one without).
func TableName(t byte) string {
	if n, ok := tableNames[t]; ok {
		return n
	}
	return fmt.Sprintf("table %q", t)
}

// TableUsage is what one table of the store takes: its keys, their
// bytes and their values' as written (uncompressed), and pebble's
// estimate of its bytes in sstables (compressed; what a flush has
// written, the write-ahead log not counted).
type TableUsage struct {
	Table     string `json:"table"`
	Keys      int64  `json:"keys"`
	KeyBytes  int64  `json:"key_bytes"`
	ValBytes  int64  `json:"value_bytes"`
	DiskBytes uint64 `json:"disk_bytes"`
}

// Usage reads the whole store and returns what each table in it takes,
// largest on disk first: where the bytes of a record go (issue 18).
func (db *DB) Usage() ([]TableUsage, error) {
	var by [256]TableUsage
	err := db.Scan([]byte{0}, nil, func(k, v []byte) bool {
		u := &by[k[0]]
		u.Keys++
		u.KeyBytes += int64(len(k))
		u.ValBytes += int64(len(v))
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []TableUsage
	for t := range by {
		u := by[t]
		if u.Keys == 0 {
			continue
		}
		end := []byte{byte(t) + 1}
		if t == 0xff {
			end = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		d, err := db.pdb.EstimateDiskUsage([]byte{byte(t)}, end)
		if err != nil {
			return nil, db.check(err)
		}
		u.Table, u.DiskBytes = TableName(byte(t)), d
		out = append(out, u)
	}
	slices.SortStableFunc(out, func(a, b TableUsage) int {
		switch {
		case a.DiskBytes > b.DiskBytes:
			return -1
		case a.DiskBytes < b.DiskBytes:
			return 1
		}
		return 0
	})
	return out, nil
}
