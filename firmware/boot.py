# boot.py -- runs first after every reset. Chooses how this start goes (safe mode with '*'
# held, service start with '#', production lock-down of the console); main.py runs the door.
# The logic lives in doorstep/board/startup.py so it can be tested off the device.
try:
    from doorstep.board import startup

    startup.boot()
except Exception as e:  # a broken install must still leave a usable prompt
    print("doorstep: boot.py could not start (%s). The REPL stays open; run `doorstep deploy`." % e)
