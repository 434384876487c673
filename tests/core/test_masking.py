import pytest

from core.masking import mask_address


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("上海市浦东新区张江路100号", "上海市浦东新区****"),
        ("浙江省杭州市西湖区文三路88号3幢201室", "浙江省杭州市西湖区****"),
        ("广西壮族自治区南宁市青秀区民族大道1号", "广西壮族自治区南宁市青秀区****"),
        ("Room 5, 10 Nathan Road", "Roo****"),
        ("", ""),
    ],
)
def test_an_address_keeps_only_its_region(address, masked):
    assert mask_address(address) == masked
    assert "号" not in mask_address(address)
