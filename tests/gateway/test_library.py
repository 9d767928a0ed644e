import io

import numpy as np
from PIL import Image


def test_listing_is_paginated_and_capped(client, gw, headers):
    body = client.get(f"{gw.prefix}/library?limit=500", headers=headers).json()
    assert body["pagination"]["limit"] == 100
    assert body["pagination"]["total"] >= 84
    page2 = client.get(f"{gw.prefix}/library?limit=10&page=2", headers=headers).json()
    assert len(page2["items"]) == 10
    assert page2["pagination"] == {
        "page": 2,
        "limit": 10,
        "total": body["pagination"]["total"],
        "totalPages": -(-body["pagination"]["total"] // 10),
        "hasMore": True,
    }
    first = client.get(f"{gw.prefix}/library?limit=10", headers=headers).json()["items"]
    assert not {p["id"] for p in first} & {p["id"] for p in page2["items"]}
    beyond = client.get(f"{gw.prefix}/library?page=1000", headers=headers).json()
    assert beyond["items"] == [] and beyond["pagination"]["hasMore"] is False


def test_category_filter_includes_sub_categories(client, gw, headers, conn):
    root = conn.execute("SELECT id, slug FROM pose_categories WHERE slug = 'sports'").fetchone()
    expected = conn.execute(
        "SELECT count(*) AS n FROM poses p JOIN pose_categories c ON c.id = p.category_id"
        " WHERE c.id = %s OR c.parent_id = %s",
        (root["id"], root["id"]),
    ).fetchone()["n"]
    assert expected > 0
    for key in (root["slug"], root["id"]):
        body = client.get(f"{gw.prefix}/library?limit=100&category={key}", headers=headers).json()
        assert body["pagination"]["total"] == expected


def test_search_covers_name_description_and_tags(client, gw, headers, conn):
    pose = conn.execute("SELECT name, description, tags FROM poses ORDER BY name LIMIT 1").fetchone()
    for term in (pose["name"][:6], pose["description"].split()[2], pose["tags"][0]):
        names = [
            p["name"]
            for p in client.get(f"{gw.prefix}/library", params={"search": term, "limit": 100}, headers=headers).json()[
                "items"
            ]
        ]
        assert pose["name"] in names, term
    wildcard = client.get(f"{gw.prefix}/library", params={"search": "%"}, headers=headers).json()
    assert wildcard["pagination"]["total"] == 0, "LIKE wildcards are matched literally"


def test_flag_and_enum_filters(client, gw, headers):
    featured = client.get(f"{gw.prefix}/library?featured=true&limit=100", headers=headers).json()["items"]
    assert featured and all(p["isFeatured"] for p in featured)
    hard = client.get(f"{gw.prefix}/library?difficulty=advanced&limit=100", headers=headers).json()["items"]
    assert hard and all(p["difficulty"] == "advanced" for p in hard)
    bad = client.get(f"{gw.prefix}/library?difficulty=impossible", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "difficulty"


def test_pose_detail_has_category_and_keypoints(client, gw, headers, pose_ids):
    body = client.get(f"{gw.prefix}/library/{pose_ids[0]}", headers=headers).json()
    assert len(body["keypoints"]) == 18
    assert body["category"]["slug"]
    assert body["skeletonUrl"].endswith(f"/library/{pose_ids[0]}/skeleton.png")
    missing = client.get(f"{gw.prefix}/library/no-such-pose", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_skeleton_png_draws_the_pose(client, gw, headers, pose_ids):
    response = client.get(f"{gw.prefix}/library/{pose_ids[0]}/skeleton.png?size=256", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)))
    assert image.shape == (256, 256, 3)
    assert (image.sum(axis=2) > 0).mean() > 0.01, "limbs are drawn"
    assert client.get(f"{gw.prefix}/library/{pose_ids[0]}/skeleton.png?size=5000", headers=headers).status_code == 422


def test_category_tree_counts_children(client, gw, headers):
    tree = client.get(f"{gw.prefix}/categories", headers=headers).json()["categories"]
    assert len(tree) == 6
    assert sum(len(root["children"]) for root in tree) == 22
    for root in tree:
        assert root["poseCount"] == sum(child["poseCount"] for child in root["children"]) > 0


def test_sql_metacharacters_in_filters_are_just_text(client, gw, headers):
    for hostile in ("'; DROP TABLE poses; --", "\\", "%_%", "' OR '1'='1", "$$", '"quoted"'):
        for key in ("search", "category"):
            response = client.get(f"{gw.prefix}/library", params={key: hostile}, headers=headers)
            assert response.status_code == 200 and response.json()["pagination"]["total"] == 0, (key, hostile)
    assert client.get(f"{gw.prefix}/library", headers=headers).json()["pagination"]["total"] >= 84
