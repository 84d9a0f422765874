// Package epcis decodes GS1 EPCIS 2.0 JSON and JSON-LD documents, the
// traceability events a supplier's system already produces, so that
// medical supplies can be followed on the ledger (epiledger import
// --format epcis). It only decodes: it knows nothing of the ledger, keys
// or transactions, holds no state and does no I/O beyond reading the
// io.Reader it is given.
//
// # What is decoded
//
// Decode and DecodeDocument read an EPCISDocument (epcisBody.eventList) or
// an EPCISQueryDocument (epcisBody.queryResults.resultsBody.eventList) and
// return its events in document order as *ObjectEvent, *AggregationEvent,
// *TransformationEvent, *AssociationEvent or *TransactionEvent. Each keeps
// the fields the ledger needs: eventID, eventTime (RFC 3339, offset
// required and kept), eventTimeZoneOffset, recordTime, action, bizStep,
// disposition, readPoint.id, bizLocation.id, bizTransactionList,
// sourceList and destinationList, the EPC and quantity lists, parentID,
// transformationID, certificationInfo, errorDeclaration, and ilmd: the CBV
// master data lot number and item expiration date (cbvmda:lotNumber,
// lotNumber or the expanded URI; likewise itemExpirationDate), every other
// ilmd attribute kept as compacted JSON.
//
// Vocabulary values are reduced to the bare CBV word whichever way they
// are written: "shipping", "urn:epcglobal:cbv:bizstep:shipping" and
// "https://ref.gs1.org/cbv/BizStep-shipping" all decode to "shipping"
// (likewise dispositions, business transaction types, source/destination
// types and error reasons). A URI of the sender's own vocabulary is kept.
//
// Identifiers are parsed by ParseID into GS1 keys with check digits: SGTIN
// (GTIN and serial), LGTIN (GTIN and lot), a GTIN pattern, SSCC and SGLN,
// from EPC URNs or GS1 Digital Link URIs, so that both spellings of one
// object compare equal. In a document, an identifier of a type ParseID
// does not interpret (GIAI, GRAI, PGLN, a private URI) is kept as KindOther,
// because EPCIS allows any URI there; a malformed identifier of a type it
// does interpret, such as a GTIN with a wrong check digit, fails the
// document.
//
// # What is ignored, and why
//
// The JSON-LD @context must be a string, an object or an array, and is
// otherwise ignored: the EPCIS 2.0 JSON binding fixes the key names this
// package reads, so no JSON-LD processing (and no fetching of contexts) is
// needed. Keys the decoder does not know are ignored, not errors: user
// extensions (namespaced keys such as "example:myField") and standard
// fields the ledger has no use for yet (epcisHeader and its master data,
// sensorElementList, persistentDisposition, an event's "id"). The
// schema's rules on which lists an event must fill are left to the
// importer, which knows what it needs; the decoder checks what each field
// says about itself, the required fields (eventTime, eventTimeZoneOffset,
// action, parentID where EPCIS requires it, bizTransactionList of a
// TransactionEvent) and types.
//
// Where a list is expected a single value is accepted, since JSON-LD
// compaction writes a one-element list that way. Duplicate keys in an
// object are refused: which of two eventTimes holds must not depend on the
// parser.
//
// # Errors and bounds
//
// Bad input returns no events and a *DecodeError naming the event's index
// and the field ("epcis: event 3: eventTime: missing"), wrapping one of the
// package's sentinel errors. Messages name identifier types and fields,
// and repeat a value only where it is a product key (a GTIN with a wrong
// check digit), never a serial.
//
// A document is read whole, because its keys may come in any order, so it
// is bounded before it is read: at most MaxDocumentSize bytes (32 MiB),
// MaxEvents events (100,000) and MaxValueLen bytes (4 KiB) in any string
// value. A larger document is refused with ErrTooLarge after reading one
// byte past the limit; a supplier splits its export instead.
package epcis
