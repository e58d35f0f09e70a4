/** Word lists the simulated catalog builds artist names and track titles from. */

export const ARTIST_FIRST = [
  'Velvet', 'Neon', 'Paper', 'Silver', 'Hollow', 'Golden', 'Static', 'Crimson', 'Lunar', 'Wild',
  'Quiet', 'Electric', 'Amber', 'Glass', 'Northern', 'Violet',
] as const;

export const ARTIST_SECOND = [
  'Harbor', 'Tides', 'Foxes', 'Parade', 'Echoes', 'Satellites', 'Gardens', 'Machines', 'Rivers', 'Owls',
  'Lanterns', 'Pilots', 'Canyons', 'Ghosts', 'Engines', 'Choir',
] as const;

export const TITLE_FIRST = [
  'Midnight', 'Summer', 'Broken', 'Endless', 'Slow', 'Bright', 'Falling', 'Open', 'Distant', 'Secret',
  'Burning', 'Sunday', 'Lost', 'Northern', 'Dancing', 'Quiet', 'Heavy', 'Golden', 'Blue', 'Morning',
] as const;

export const TITLE_SECOND = [
  'Drive', 'Rain', 'Lights', 'Heart', 'Motion', 'Skyline', 'Letters', 'Waves', 'Fever', 'Roads',
  'Signals', 'Dreams', 'Shadows', 'Bloom', 'Static', 'Horizon', 'Runaway', 'Embers', 'Tides', 'Voices',
] as const;

export const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'SE', 'BR', 'MX', 'JP', 'AU', 'CA', 'IN'] as const;
