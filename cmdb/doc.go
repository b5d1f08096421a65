// Package cmdb is configuration management: configuration items (CIs) of
// classes declared as data, typed and directed relationships between them,
// impact analysis over the relationship graph, identification and
// reconciliation of imported data, history, baselines and a health report.
//
// Classes form a tree (DefaultClasses: business service, application,
// software instance, hardware, server, network and storage devices,
// virtual machine, cluster, location); each declares attributes with types
// (string, int, bool, time, decimal, enum, reference), required and unique
// flags, and identification rules, all inherited down the tree.
//
// A CI moves through a declared lifecycle (see Lifecycle and
// lifecycle.md): planned → in build → operational ⇄ under maintenance →
// retired, which is final; SetState moves it. Relationships are typed
// (Depends on::Used by, Runs on::Runs, …), allowed only between the class
// pairs their type lists, never dangling and never stored twice. Retiring
// or deleting a CI with relationships is refused (Block) or removes them
// (Cascade), as configured.
//
// The Service has the shape of every process: commands take (ctx, actor,
// ...) and run through the shared pipeline in one transaction (load,
// authorize, rules, version-checked write, one journal event per record
// written), with In(tx) and IfVersion(v); queries are iterators with
// multi-value filters (List, Baselines) and a page-token form (ListPage).
// A CI's journal holds its creation and, for every later write, the old
// and new value of each field it changed; relationship events name the
// relationship and list both CIs in Refs. So History shows a CI's field
// changes and the relationships that touched it, and AsOf replays a CI as
// it was at any instant.
//
// Impact analysis walks an in-memory index of the relationships that
// carry impact. Each Service builds it on first use and, before every
// query, reads the relationship events committed since, so that several
// Services on one store (in one process or many) answer alike.
package cmdb
