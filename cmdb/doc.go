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
// retired, which is final. Relationships are typed (Depends on::Used by,
// Runs on::Runs, …), allowed only between the class pairs their type
// lists, never dangling and never stored twice. Retiring or deleting a CI
// with relationships is refused (Block) or removes them (Cascade), as
// configured.
//
// Every change to a CI or a relationship is journaled whole, so AsOf
// returns a CI as it was at any instant and History lists its changes.
package cmdb
