# main.py -- runs the door after boot.py: storage, board, key, then doorstep.app.App under
# asyncio. Without a key (not provisioned) or in safe mode it prints why and returns to the
# prompt; in production it never returns (see doorstep/board/startup.py).
try:
    from doorstep.board import startup
except Exception as e:
    print("doorstep: the firmware is not installed (%s). Run `doorstep deploy`." % e)
else:
    startup.main()
