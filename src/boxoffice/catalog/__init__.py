"""The catalogue: movies, genres, people and their credits."""
