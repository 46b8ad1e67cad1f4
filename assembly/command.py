def add_parser(commands):
    commands.add_parser("assemble")


def run(args):
    raise ValueError("not implemented yet")
