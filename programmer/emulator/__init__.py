"""The pump emulator (issue 3): a model of an ITP-20/ITP-40 pump behind the link protocol.

`PumpModel` is the pump itself (pure, Qt-free, no I/O); `EmulatorHandler` puts it behind a
`programmer.link` endpoint; `state` persists it; `cli` is `itp emulator`; importing
`programmer.emulator.inprocess` registers the in-process `emulator:` address.
"""
