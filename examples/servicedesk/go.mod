module github.com/itilkit/itil/examples/servicedesk

go 1.26.0

require github.com/itilkit/itil v0.0.0

// The SDK is the repository's root module: the workspace (go.work) uses
// it, and this replace does too when the workspace is off.
replace github.com/itilkit/itil => ../..
