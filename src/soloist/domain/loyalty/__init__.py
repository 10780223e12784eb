"""The loyalty programme: points, tiers, rewards and coupons, referrals, and its measured effect."""
