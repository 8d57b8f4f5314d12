"""Outbound HTTP and what is read from it: link previews and member blog feeds.

- `addresses`: which IP addresses may be reached (global unicast, or allow-listed networks).
- `client`: `SafeFetcher`, aiohttp that connects only to checked addresses, hop by hop.
- `pool`: `ParserPool`, a forkserver process pool so parsing never blocks the event loop.
- `pages`: link previews (OpenGraph / HTML head).
- `feeds`: RSS/Atom parsing, entry HTML cleaning with nh3, feed autodiscovery.
"""
