"""moto's server with two EBS direct API answers corrected to what AWS documents.

Used by the imaging tests (custody_cloud::testing::Moto::start_with_ebs_corrections) and scripts/bench-image only; product code never adapts to moto.
Usage: python moto_ebs.py -H 127.0.0.1 -p PORT   (the arguments of `python -m moto.server`)

moto 5.2.1 quirks corrected here:
1. ListSnapshotBlocks says BlockSize 512. AWS serves 512 KiB blocks and says BlockSize 524288
   (EBS User Guide, "Concepts for EBS direct APIs", Block indexes: offset / 524288).
2. ListSnapshotBlocks returns BlockIndex as the string taken from the PutSnapshotBlock URL, in
   insertion order. AWS's BlockIndex is an integer (EBS API Reference, ListSnapshotBlocks / Block),
   and strict clients (aws-sdk-rust) refuse a string there.
"""
import json
import sys

from moto.ebs import models, responses

_original_init = models.EBSSnapshot.__init__


def _init_with_aws_block_size(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.block_size = 524288


models.EBSSnapshot.__init__ = _init_with_aws_block_size


def _list_snapshot_blocks(self):
    snapshot_id = self.path.split("/")[-2]
    snapshot = self.ebs_backend.list_snapshot_blocks(snapshot_id=snapshot_id)
    blocks = sorted(
        ({"BlockIndex": int(index), "BlockToken": block.block_token} for index, block in snapshot.blocks.items()),
        key=lambda b: b["BlockIndex"],
    )
    return json.dumps({"Blocks": blocks, "VolumeSize": snapshot.volume_size, "BlockSize": snapshot.block_size})


responses.EBSResponse.list_snapshot_blocks = _list_snapshot_blocks

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
