from tools.bench.orders import main


def test_the_benchmark_times_every_method_on_both_backends(capsys):
    assert main(["--rounds", "20"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    methods = [row.split()[0] for row in rows]
    assert methods == [
        "get_order",
        "orders_of",
        "customer",
        "products",
        "unpaid_orders",
        "change_address",
        "change_phone",
        "cancel",
        "request_return",
        "urge_delivery",
    ]
    for row in rows:
        timings = [float(value) for value in row.split()[1:]]
        assert len(timings) == 4 and all(t > 0 for t in timings)
