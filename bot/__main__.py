"""`python -m bot` runs the peerbot command line."""

from bot.cli.main import main

main()
