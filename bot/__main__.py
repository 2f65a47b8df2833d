"""`python -m bot` runs the peerbot command line."""

from bot.cli import main

main()
